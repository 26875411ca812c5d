package httpx

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Headers Azure services use to correlate requests.
const (
	HeaderRequestID       = "x-ms-request-id"
	HeaderClientRequestID = "x-ms-client-request-id"
	HeaderCorrelationID   = "x-ms-correlation-request-id"
)

// Info is what the edge knows about a request, shared by the layers that handle it.
type Info struct {
	RequestID string
	Area      string
	Start     time.Time
	// Err is the error the response was rendered from, if any; the request log records its cause.
	Err *Error
}

type infoKey struct{}

// InfoFrom returns the request's Info, or nil outside the edge.
func InfoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}

// Observer receives one call per finished request; metrics implement it.
type Observer interface {
	Observe(area, method string, status int, elapsed time.Duration)
}

// Edge wraps the whole server: request ids, the request log and metrics. area names the part of keyhaven a
// request went to; it is read after the inner handler has set Info.Area.
type Edge struct {
	Logger   *slog.Logger
	Observer Observer
	Next     http.Handler
}

func (e Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := &Info{RequestID: newRequestID(), Start: time.Now(), Area: "server"}
	h := w.Header()
	h.Set(HeaderRequestID, info.RequestID)
	if id := r.Header.Get(HeaderClientRequestID); validClientID(id) {
		h.Set(HeaderClientRequestID, id)
	}
	if id := r.Header.Get(HeaderCorrelationID); validClientID(id) {
		h.Set(HeaderCorrelationID, id)
	}
	rw := &statusWriter{ResponseWriter: w}
	e.Next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	elapsed := time.Since(info.Start)
	if e.Observer != nil {
		e.Observer.Observe(info.Area, r.Method, rw.status, elapsed)
	}
	if e.Logger != nil {
		e.log(r, info, rw, elapsed)
	}
}

// log writes the request log line. It never includes the query string, headers or bodies: they may hold secrets
// (client_secret, tokens, secret values).
func (e Edge) log(r *http.Request, info *Info, rw *statusWriter, elapsed time.Duration) {
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("area", info.Area),
		slog.String("method", r.Method),
		slog.String("host", r.Host),
		slog.String("path", r.URL.Path),
		slog.Int("status", rw.status),
		slog.Int64("bytes", rw.bytes),
		slog.Duration("elapsed", elapsed),
		slog.String("client", clientIP(r)),
		slog.String("request_id", info.RequestID),
	}
	if info.Err != nil {
		attrs = append(attrs, slog.String("code", info.Err.Code.Name))
		if info.Err.Cause != nil {
			attrs = append(attrs, slog.String("cause", info.Err.Cause.Error()))
		}
		if rw.status >= 500 {
			level = slog.LevelError
		}
	}
	e.Logger.LogAttrs(r.Context(), level, "request", attrs...)
}

// Recover turns a panic in next into a 500 in the area's shape; the stack goes to the log, not the client.
func Recover(shape Shape, logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				if logger != nil {
					logger.Error("panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				}
				WriteError(w, r, shape, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// SetArea records which part of keyhaven handles the request.
func SetArea(r *http.Request, area string) {
	if info := InfoFrom(r.Context()); info != nil {
		info.Area = area
	}
}

// Request ids are GUIDs: a random prefix drawn once per process and a counter, so minting one costs no system
// call on the hot path and two never collide.
var (
	idPrefix  = uuid.New()
	idCounter atomic.Uint64
)

func newRequestID() string {
	id := idPrefix
	binary.BigEndian.PutUint64(id[8:], binary.BigEndian.Uint64(idPrefix[8:])+idCounter.Add(1))
	id[8] = id[8]&0x3f | 0x80 // keep the RFC 4122 variant
	return id.String()
}

// validClientID accepts what clients put in x-ms-client-request-id (GUIDs and similar): short, and nothing that
// could split a header or a log line.
func validClientID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
