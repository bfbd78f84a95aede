package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aebridge/aebridge/runtime"
)

// printable returns s for printing to a terminal: as it is when s is valid
// UTF-8 made only of printable characters (unicode.IsPrint: letters, marks,
// numbers, punctuation, symbols and the ASCII space), else quoted with its
// control characters, invalid bytes and other non-printable runes escaped,
// as strconv.Quote does. The empty string is printed as "". Every string a
// model file supplies (tensor and dimension names, producer, metadata, op
// types) goes through it, so that a name such as "\x1b[2J" cannot clear the
// screen, move the cursor or retitle the terminal.
func printable(s string) string {
	if s == "" || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// errorText returns an error message for printing to a terminal: like
// printable, but line by line, keeping newlines and tabs (messages list
// nodes one a line) and escaping, without quotes, every other control
// character, invalid byte and non-printable rune. Errors carry names and
// paths from files, so a file cannot reach the terminal through them.
func errorText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t' || unicode.IsPrint(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// shapeText is io.ShapeString with the file's dimension names printable.
func shapeText(io runtime.IO) string {
	if !io.HasShape {
		return io.ShapeString()
	}
	dims := make([]string, len(io.Shape))
	for i, d := range io.Shape {
		dims[i] = d.String()
		if d.Size < 0 && d.Name != "" {
			dims[i] = printable(d.Name)
		}
	}
	return "[" + strings.Join(dims, " ") + "]"
}

// jsonPrintable escapes, as \uXXXX, the runes of JSON text js that are
// neither printable nor a newline: encoding/json escapes C0 controls but
// lets C1 controls such as U+009B (CSI), DEL and format characters through.
// Outside strings JSON text holds only printable ASCII and newlines, so
// every rune escaped here is inside a string, and the text still decodes
// to the same values.
func jsonPrintable(js []byte) []byte {
	out := make([]byte, 0, len(js))
	for _, r := range string(js) {
		if r == '\n' || unicode.IsPrint(r) {
			out = utf8.AppendRune(out, r)
			continue
		}
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			continue
		}
		out = fmt.Appendf(out, `\u%04x`, r)
	}
	return out
}
