package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// DefaultMaxBodyBytes caps a Graph response body. A report page is a few
// hundred KiB at most; the cap keeps memory bounded whatever arrives.
const DefaultMaxBodyBytes = 16 << 20

// readBody reads and closes resp's body, at most limit bytes, within the
// attempt. Reading it whole here, rather than leaving it to the SDK, makes
// a connection reset or stall in the middle of a body a failure of the
// attempt, retried like one before the headers. A failure says whether
// another attempt may help: not for a body over the cap.
func readBody(parent, attemptCtx context.Context, resp *http.Response, limit int64) ([]byte, *insights.Error, bool) {
	defer resp.Body.Close()
	if resp.ContentLength > limit {
		return nil, BadResponse(fmt.Errorf("response body of %d bytes exceeds the limit of %d", resp.ContentLength, limit)), false
	}
	body, over, err := readCapped(resp.Body, limit, resp.ContentLength)
	switch {
	case over:
		return nil, BadResponse(fmt.Errorf("response body exceeds %d bytes", limit)), false
	case err != nil:
		failure, retryable := transportError(parent, attemptCtx, fmt.Errorf("read response: %w", err))
		return nil, failure, retryable
	}
	return body, nil, false
}

// firstBuffer is the buffer for a body of unknown length; it doubles as
// the body grows.
const firstBuffer = 32 << 10

// readCapped reads r to its end and reports whether it holds more than
// limit bytes. The buffer is sized by hint when known (Content-Length),
// else it doubles; it never grows past limit: one byte read beyond proves
// the body too long. An oversized body thus costs about 2 × limit of
// allocations, a body of known length exactly its size.
func readCapped(r io.Reader, limit, hint int64) (body []byte, over bool, err error) {
	size := int64(firstBuffer)
	if hint >= 0 {
		size = hint
	}
	buf := make([]byte, 0, max(min(size, limit), 1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) == limit {
				var one [1]byte
				n, err := io.ReadFull(r, one[:])
				switch {
				case n > 0:
					return nil, true, nil
				case errors.Is(err, io.EOF):
					return buf, false, nil
				}
				return nil, false, err
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			return buf, false, nil
		case err != nil:
			return nil, false, err
		}
	}
}

// isJSON reports whether resp declares a JSON body.
func isJSON(resp *http.Response) bool {
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mediaType == "application/json"
}
