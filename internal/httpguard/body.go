package httpguard

import (
	"errors"
	"io"
)

// ErrBodyTooLarge is ReadBody's error for a body over its limit.
var ErrBodyTooLarge = errors.New("httpguard: body larger than the limit")

// ReadBody reads all of body when it is at most limit bytes. It allocates at most
// limit+1 bytes whatever the body: a declared length (contentLength ≥ 0, as
// http.Request.ContentLength) over limit is refused before anything is read, one
// within it sizes the buffer exactly, and an undeclared or false one grows the buffer
// only up to limit+1. An over-long body is ErrBodyTooLarge, with what was read.
func ReadBody(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength > limit {
		return nil, ErrBodyTooLarge
	}
	size := int64(512)
	if contentLength >= 0 {
		size = contentLength + 1 // +1 to see the end (or a body longer than declared)
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, ErrBodyTooLarge
			}
			grown := make([]byte, len(buf), min(int64(2*cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, ErrBodyTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
