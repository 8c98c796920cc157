// Package textcap bounds the text orbit stores and shows about a delivery (outcomes,
// per-delivery summaries), so that what one request makes us write stays small
// whatever the request held: a push of 3,001 refs describes itself in a few lines.
package textcap

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultLimit is the cap of a stored outcome or summary: 4 KiB.
const DefaultLimit = 4 << 10

// ellipsis marks where text was cut.
const ellipsis = "…"

// String returns s when it fits in limit bytes; otherwise its start, cut at a rune
// boundary, followed by "… and N more bytes", in at most limit bytes all told. A
// limit too small for the tail gets the tail cut to fit.
func String(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	if limit <= 0 {
		return ""
	}
	// The tail names the bytes left out, which depend on where the cut falls: take
	// the tail for the largest count it can name (all of s), which is never shorter.
	tail := " " + ellipsis + " and " + strconv.Itoa(len(s)) + " more bytes"
	keep := limit - len(tail)
	if keep <= 0 {
		return cut(ellipsis+" and "+strconv.Itoa(len(s))+" more bytes", limit)
	}
	head := cut(s, keep)
	return head + " " + ellipsis + " and " + strconv.Itoa(len(s)-len(head)) + " more bytes"
}

// List joins items with sep, keeping as many leading items as fit in limit bytes
// together with a closing sep + "… and N more" that counts the items left out. An
// item too long to fit on its own is cut (see String) rather than left out, so the
// first item always shows something when limit allows.
func List(items []string, sep string, limit int) string {
	if all := strings.Join(items, sep); len(all) <= limit {
		return all
	}
	// Some items are left out, so the tail is needed: keep room for it.
	var b strings.Builder
	for i, item := range items {
		rest := len(items) - i - 1
		need := len(item) + len(sep) + len(more(rest))
		if i > 0 {
			need += len(sep)
		}
		if b.Len()+need <= limit {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(item)
			continue
		}
		if i == 0 {
			// Not even the first item fits: show its start when there is room.
			if rest == 0 {
				return String(item, limit)
			}
			tail := sep + more(rest)
			if room := limit - len(tail); room >= minShown {
				return String(item, room) + tail
			}
			return cut(more(len(items)), limit)
		}
		// item does not fit: close with the count of it and the ones after.
		return b.String() + sep + more(rest+1)
	}
	return b.String()
}

// minShown is the least of a cut first item worth showing before the tail.
const minShown = 24

func more(n int) string { return ellipsis + " and " + strconv.Itoa(n) + " more" }

// cut returns the longest prefix of s within limit bytes that does not split a rune.
func cut(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit]
}
