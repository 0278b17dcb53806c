package resultjson

import "bufio"

// indentJSON writes compact JSON, as json.Encoder writes it, indented by
// two spaces as json.Indent would, except that an array holding no object
// stays on one line, compact: a histogram's buckets take one line rather
// than four lines a bucket, which makes a result a fifth of the size and
// as much faster to read.
func indentJSON(w *bufio.Writer, src []byte) error {
	depth := 0
	newline := func() {
		w.WriteByte('\n')
		for range depth {
			w.WriteString("  ")
		}
	}
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"':
			end := stringEnd(src, i)
			w.Write(src[i:end])
			i = end - 1
		case '[', '{':
			if end, flat := flatArray(src, i); flat {
				w.Write(src[i:end])
				i = end - 1
				continue
			}
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				w.Write(src[i : i+2])
				i++
				continue
			}
			w.WriteByte(c)
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			w.WriteByte(c)
		case ',':
			w.WriteByte(',')
			newline()
		case ':':
			w.WriteString(": ")
		default:
			w.WriteByte(c)
		}
	}
	return w.Flush()
}

// stringEnd returns the index just past the string that starts at
// src[i], a quote.
func stringEnd(src []byte, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(src)
}

// flatArray reports whether src[i] opens an array that holds no object,
// and where it ends.
func flatArray(src []byte, i int) (end int, flat bool) {
	if src[i] != '[' {
		return 0, false
	}
	depth := 0
	for j := i; j < len(src); j++ {
		switch src[j] {
		case '"':
			j = stringEnd(src, j) - 1
		case '{':
			return 0, false
		case '[':
			depth++
		case ']':
			if depth--; depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}
