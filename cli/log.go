package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// logLevel is the level az's --verbose, --debug and --only-show-errors select; warnings by default.
func logLevel(c *Context) slog.Level {
	switch {
	case c.Bool("debug"):
		return slog.LevelDebug
	case c.Bool("verbose"):
		return slog.LevelInfo
	case c.Bool("only-show-errors"):
		return slog.LevelError
	}
	return slog.LevelWarn
}

// newLogger returns a logger writing lines as az's CLI logger does: "WARNING: message", followed here by
// any attributes as key=value.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(&azHandler{mu: &sync.Mutex{}, w: w, level: level})
}

// azHandler is a slog.Handler for az-style log lines.
type azHandler struct {
	mu     *sync.Mutex // guards w, shared by handlers derived with WithAttrs and WithGroup
	w      io.Writer
	level  slog.Level
	attrs  string // pre-formatted " key=value" pairs
	prefix string // group prefix for attribute keys: "group."
}

func (h *azHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *azHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(levelName(r.Level))
	b.WriteString(": ")
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.prefix, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *azHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range attrs {
		writeAttr(&b, h.prefix, a)
	}
	h2 := *h
	h2.attrs += b.String()
	return &h2
}

func (h *azHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix += name + "."
	return &h2
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			writeAttr(b, prefix, g)
		}
		return
	}
	fmt.Fprintf(b, " %s%s=%v", prefix, a.Key, a.Value.Any())
}

// levelName is the Python logging name az prints.
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}
