package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxBodyBytes caps a Graph response body. A report page is a few
// hundred KiB at most; the cap keeps memory bounded whatever arrives.
const DefaultMaxBodyBytes = 16 << 20

// drainLimit bounds how much of a discarded body is read so its connection
// can be reused; a longer body just costs the connection.
const drainLimit = 64 << 10

// cappedBody fails a read past the cap with a bad_response error, and
// classifies read failures of the attempt (timeouts, resets). Closing it
// ends the attempt's context.
type cappedBody struct {
	body       io.ReadCloser
	remaining  int64 // bytes still allowed
	limit      int64
	attemptCtx context.Context
	cancel     context.CancelFunc
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		// One byte more proves the body is longer than the cap.
		var one [1]byte
		n, err := b.body.Read(one[:])
		if n > 0 {
			return 0, BadResponse(fmt.Errorf("response body exceeds %d bytes", b.limit))
		}
		return 0, b.readError(err)
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.body.Read(p)
	b.remaining -= int64(n)
	return n, b.readError(err)
}

func (b *cappedBody) readError(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	ie, _ := transportError(b.attemptCtx, b.attemptCtx, fmt.Errorf("read response: %w", err))
	return ie
}

func (b *cappedBody) Close() error {
	err := b.body.Close()
	b.cancel()
	return err
}

// discard drains a little of a response body and closes it.
func discard(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	_ = body.Close()
}
