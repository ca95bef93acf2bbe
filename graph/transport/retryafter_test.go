package transport

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		want   time.Duration
		ok     bool
	}{
		{"integer seconds", "7", 7 * time.Second, true},
		{"fractional seconds as Graph sends", "2.128", 2128 * time.Millisecond, true},
		{"surrounding space", " 3 ", 3 * time.Second, true},
		{"zero", "0", 0, true},
		{"leading plus", "+1", time.Second, true},
		{"negative zero", "-0", 0, true},
		{"huge number is clamped", "99999999999999999999999999", MaxRetryAfter, true},
		{"beyond float range is clamped", "1" + strings.Repeat("0", 400), MaxRetryAfter, true},
		{"six minutes is clamped", "360", MaxRetryAfter, true},
		{"IMF-fixdate ahead", "Tue, 10 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"RFC 850 date", "Tuesday, 10-Mar-26 12:01:00 GMT", time.Minute, true},
		{"asctime date", "Tue Mar 10 12:00:05 2026", 5 * time.Second, true},
		{"date in the past means now", "Tue, 10 Mar 2026 11:00:00 GMT", 0, true},
		{"date far ahead is clamped", "Wed, 11 Mar 2026 12:00:00 GMT", MaxRetryAfter, true},
		{"empty", "", 0, false},
		{"negative", "-5", 0, false},
		{"NaN", "NaN", 0, false},
		{"infinity", "Inf", 0, false},
		{"exponent", "1e3", 0, false},
		{"hex float", "0x1p-2", 0, false},
		{"underscore", "1_0", 0, false},
		{"two dots", "1.2.3", 0, false},
		{"lone dot", ".", 0, false},
		{"unit suffix", "5s", 0, false},
		{"garbage", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.header, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, seed := range []string{"2", "2.128", "-1", "NaN", "1e309", "Tue, 10 Mar 2026 12:00:30 GMT", ""} {
		f.Add(seed)
	}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, header string) {
		got, ok := ParseRetryAfter(header, now)
		if got < 0 || got > MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v, outside [0, %v]", header, got, MaxRetryAfter)
		}
		if !ok && got != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false; a rejected value must give 0", header, got)
		}
	})
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt int
		random  float64
		want    time.Duration
	}{
		{0, 0, 0},
		{0, 0.5, 500 * time.Millisecond},
		{1, 0.5, time.Second},
		{3, 0.5, 4 * time.Second},
		{4, 0.999, 15984 * time.Millisecond},
		{5, 0.5, 15 * time.Second}, // 32 s capped to 30 s
		{63, 0.5, 15 * time.Second},
		{1000, 0.5, 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("attempt %d random %v", tt.attempt, tt.random), func(t *testing.T) {
			if got := backoff(tt.attempt, func() float64 { return tt.random }); got != tt.want {
				t.Errorf("backoff(%d) with random %v = %v, want %v", tt.attempt, tt.random, got, tt.want)
			}
		})
	}
}
