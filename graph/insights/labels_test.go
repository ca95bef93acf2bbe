package insights

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		label, in, want string
	}{
		{"os", "Windows", "Windows"},
		{"os", "WINDOWS", "Windows"},
		{"os", " windows ", "Windows"},
		{"os", "MacOs", "macOS"},
		{"os", "MACOS", "macOS"},
		{"os", "mac os", "macOS"},
		{"os", "Mac OS X", "macOS"},
		{"os", "Ios", "iOS"},
		{"os", "IOS", "iOS"},
		{"os", "android", "Android"},
		{"os", "LINUX", "Linux"},
		{"os", "ChromeOS", "chromeos"},
		{"os", "Windows 10", "Windows"},
		{"os", "Windows10", "Windows"},
		{"os", "Ios 17.1", "iOS"},
		{"os", "Android 14", "Android"},
		{"os", "Windows Phone", "windows phone"},
		{"os", "OS2", "os2"},
		{"os", "", "unknown"},
		{"os", "Unknown", "unknown"},
		{"country", "de", "DE"},
		{"country", "UK", "UK"},
		{"country", "", "unknown"},
		{"country", "   ", "unknown"},
		{"country", "UNKNOWN", "unknown"},
		{"app_id", "AAAA-BBBB", "aaaa-bbbb"},
		{"app_id", "", "unknown"},
		{"reason_code", "mfaIncomplete", "mfaIncomplete"},
		{"mfa_method", "PhoneAppOTP", "PhoneAppOTP"},
		{"language", " en-US\t", "en-US"},
		{"browser", "Edge\xff", "Edge\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.label+"/"+tt.in, func(t *testing.T) {
			if got := Normalize(tt.label, tt.in); got != tt.want {
				t.Errorf("Normalize(%q, %q) = %q, want %q", tt.label, tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeText(t *testing.T) {
	tests := []struct{ in, fallback, want string }{
		{" Contoso Shop ", "id", "Contoso Shop"},
		{"", "id", "id"},
		{"\t", "id", "id"},
		{"a\xffb", "id", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := NormalizeText(tt.in, tt.fallback); got != tt.want {
				t.Errorf("NormalizeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzNormalize checks the properties the series building relies on: a
// label value is never empty, always valid UTF-8, and normalising twice
// changes nothing (so values already normalised fold into the same series).
func FuzzNormalize(f *testing.F) {
	for _, seed := range []struct{ label, value string }{
		{"os", "MacOs"}, {"os", " mac  os "}, {"country", ""}, {"country", "uk"},
		{"app_id", "ABC"}, {"language", "\xff"}, {"os", "İ"}, {"country", "ß"},
	} {
		f.Add(seed.label, seed.value)
	}
	labels := []string{"app_id", "os", "country", "language", "browser", "mfa_method", "reason_code"}
	f.Fuzz(func(t *testing.T, label, value string) {
		for _, l := range append(labels, label) {
			got := Normalize(l, value)
			if got == "" {
				t.Fatalf("Normalize(%q, %q) is empty", l, value)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("Normalize(%q, %q) = %q is not valid UTF-8", l, value, got)
			}
			if again := Normalize(l, got); again != got {
				t.Fatalf("Normalize(%q, %q) = %q, but normalising that gives %q", l, value, got, again)
			}
			if strings.TrimSpace(got) != got {
				t.Fatalf("Normalize(%q, %q) = %q has surrounding space", l, value, got)
			}
		}
	})
}
