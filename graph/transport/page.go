package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// CheckPage checks the envelope of a Graph collection page before the SDK
// decodes it: one JSON object, nothing after it, whose "value" is an array
// of objects (or nulls, which the rows mapping skips) and whose "@odata.nextLink", if present, is a string or null;
// neither key twice, so that no two decoders can read different pages out
// of one body. The rows themselves are the SDK's to decode.
func CheckPage(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := expectDelim(dec, '{'); err != nil {
		return fmt.Errorf("page: %w", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("page: %w", err)
		}
		key, _ := tok.(string) // object keys are strings
		switch key {
		case "value", "@odata.nextLink":
			if seen[key] {
				return fmt.Errorf("page: %q appears twice", key)
			}
			seen[key] = true
		}
		switch key {
		case "value":
			err = checkRows(dec)
		case "@odata.nextLink":
			err = checkNextLink(dec)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return fmt.Errorf("page: %s: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return fmt.Errorf("page: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("page: data after the JSON object")
	}
	if !seen["value"] {
		return errors.New(`page: no "value" array`)
	}
	return nil
}

// checkRows reads an array of objects or nulls.
func checkRows(dec *json.Decoder) error {
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for i := 0; dec.More(); i++ {
		var row json.RawMessage
		if err := dec.Decode(&row); err != nil {
			return err
		}
		if row[0] != '{' && string(row) != "null" { // RawMessage starts at the value, never empty
			return fmt.Errorf("item %d is not an object", i)
		}
	}
	return expectDelim(dec, ']')
}

// checkNextLink reads a string or null.
func checkNextLink(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok.(type) {
	case string, nil:
		return nil
	}
	return fmt.Errorf("not a string: %v", tok)
}

// expectDelim reads the next token and fails unless it is want.
func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}
