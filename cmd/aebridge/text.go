package main

import (
	"strconv"
	"strings"
	"unicode"
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
