package sandbox

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// A subset of Bitbucket Cloud's filter language (the `q` parameter) and `sort`,
// evaluated over the JSON object a list endpoint renders. Bitbucket's description
// documents both parameters on GET /2.0/repositories/{workspace} and points to its
// "filtering and sorting" guide: comparisons `field op value` with = != ~ !~ > >= < <=
// (~ is a case-insensitive "contains") and `field IN (v, …)` / `field NOT IN (v, …)`,
// values that are double-quoted strings, numbers, true, false, null or unquoted
// ISO-8601 datetimes (2015-03-04, 2015-03-04T14:08:59, 2015-03-04T14:08:59.123+02:00;
// UTC unless an offset is given), combined with AND, OR and parentheses; fields are dot
// paths into the object (project.key, mainbranch.name). A query that does not parse
// or names a field the object does not have is a 400, as on Bitbucket.

type bbqlExpr interface {
	eval(obj map[string]any) bool
}

type bbqlAnd struct{ left, right bbqlExpr }
type bbqlOr struct{ left, right bbqlExpr }
type bbqlCmp struct {
	field string
	op    string
	value any // string, float64, bool, time.Time, nil, or a list of them for IN
}

func (e bbqlAnd) eval(o map[string]any) bool { return e.left.eval(o) && e.right.eval(o) }
func (e bbqlOr) eval(o map[string]any) bool  { return e.left.eval(o) || e.right.eval(o) }

func (e bbqlCmp) eval(o map[string]any) bool {
	got := lookupField(o, e.field)
	switch e.op {
	case "IN", "NOT IN":
		list, _ := e.value.([]any)
		in := slices.ContainsFunc(list, func(v any) bool { return bbqlEqual(got, v) })
		return in == (e.op == "IN")
	case "=":
		return bbqlEqual(got, e.value)
	case "!=":
		return !bbqlEqual(got, e.value)
	case "~", "!~":
		s, ok := got.(string)
		want, _ := e.value.(string)
		contains := ok && strings.Contains(strings.ToLower(s), strings.ToLower(want))
		return contains == (e.op == "~")
	default:
		c, ok := bbqlCompare(got, e.value)
		if !ok {
			return false
		}
		switch e.op {
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		case "<":
			return c < 0
		default:
			return c <= 0
		}
	}
}

func bbqlEqual(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case float64:
		g, ok := toFloat(got)
		return ok && g == w
	case time.Time:
		c, ok := bbqlCompare(got, w)
		return ok && c == 0
	default:
		return got == want
	}
}

func bbqlCompare(got, want any) (int, bool) {
	if w, ok := want.(time.Time); ok {
		text, ok := got.(string)
		if !ok {
			return 0, false
		}
		g, err := parseBBQLTime(text)
		if err != nil {
			return 0, false
		}
		return g.Compare(w), true
	}
	if w, ok := want.(float64); ok {
		g, ok := toFloat(got)
		if !ok {
			return 0, false
		}
		switch {
		case g < w:
			return -1, true
		case g > w:
			return 1, true
		}
		return 0, true
	}
	g, ok1 := got.(string)
	w, ok2 := want.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(g, w), true
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// lookupField follows a dot path through nested objects; it is nil when a segment
// is not there. A field whose parent is absent (a repository without a project) is
// there, as null, when the object type has it: knownFields says which paths exist.
func lookupField(o map[string]any, field string) any {
	var cur any = o
	for _, part := range strings.Split(field, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// parseBBQL parses q; fields must be in known (dot paths).
func parseBBQL(q string, known map[string]bool) (bbqlExpr, error) {
	p := &bbqlParser{src: q, known: known}
	p.next()
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, fmt.Errorf("unexpected %q at position %d", p.tok.text, p.tok.pos)
	}
	return e, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokOp
	tokLParen
	tokRParen
	tokComma
	tokTime
)

// bbqlTimeLayouts are the datetime forms the guide allows: the time, its
// milliseconds and the offset are each optional.
var bbqlTimeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02",
}

// parseBBQLTime reads a datetime literal or a field's rendered date; no offset means UTC.
func parseBBQLTime(text string) (time.Time, error) {
	for _, layout := range bbqlTimeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid datetime %q", text)
}

// bbqlTimeLiteral matches an unquoted datetime at the start of s.
var bbqlTimeLiteral = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?`)

type bbqlToken struct {
	kind tokKind
	text string
	pos  int
}

type bbqlParser struct {
	src   string
	pos   int
	tok   bbqlToken
	err   error
	known map[string]bool
}

func (p *bbqlParser) next() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = bbqlToken{kind: tokEOF, pos: start}
		return
	}
	c := p.src[p.pos]
	switch {
	case c == '(':
		p.pos++
		p.tok = bbqlToken{kind: tokLParen, text: "(", pos: start}
	case c == ')':
		p.pos++
		p.tok = bbqlToken{kind: tokRParen, text: ")", pos: start}
	case c == ',':
		p.pos++
		p.tok = bbqlToken{kind: tokComma, text: ",", pos: start}
	case bbqlTimeLiteral.MatchString(p.src[p.pos:]):
		text := bbqlTimeLiteral.FindString(p.src[p.pos:])
		p.pos += len(text)
		p.tok = bbqlToken{kind: tokTime, text: text, pos: start}
	case c == '"':
		var b strings.Builder
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] != '"' {
			if p.src[p.pos] == '\\' && p.pos+1 < len(p.src) {
				p.pos++
			}
			b.WriteByte(p.src[p.pos])
			p.pos++
		}
		if p.pos >= len(p.src) {
			p.err = fmt.Errorf("unterminated string at position %d", start)
			p.tok = bbqlToken{kind: tokEOF, pos: start}
			return
		}
		p.pos++
		p.tok = bbqlToken{kind: tokString, text: b.String(), pos: start}
	case strings.ContainsRune("=!~<>", rune(c)):
		for _, op := range []string{"!=", "!~", ">=", "<=", "=", "~", ">", "<"} {
			if strings.HasPrefix(p.src[p.pos:], op) {
				p.pos += len(op)
				p.tok = bbqlToken{kind: tokOp, text: op, pos: start}
				return
			}
		}
		p.pos++
		p.tok = bbqlToken{kind: tokOp, text: string(c), pos: start}
	case c == '-' || (c >= '0' && c <= '9'):
		p.pos++
		for p.pos < len(p.src) && (p.src[p.pos] == '.' || p.src[p.pos] >= '0' && p.src[p.pos] <= '9') {
			p.pos++
		}
		p.tok = bbqlToken{kind: tokNumber, text: p.src[start:p.pos], pos: start}
	case c == '_' || unicode.IsLetter(rune(c)):
		for p.pos < len(p.src) && (p.src[p.pos] == '_' || p.src[p.pos] == '.' || unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos]))) {
			p.pos++
		}
		p.tok = bbqlToken{kind: tokIdent, text: p.src[start:p.pos], pos: start}
	default:
		p.err = fmt.Errorf("unexpected character %q at position %d", c, start)
		p.tok = bbqlToken{kind: tokEOF, pos: start}
	}
}

func (p *bbqlParser) keyword(word string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, word)
}

func (p *bbqlParser) parseOr() (bbqlExpr, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = bbqlOr{left, right}
	}
	return left, nil
}

func (p *bbqlParser) parseAnd() (bbqlExpr, error) {
	left, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		p.next()
		right, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		left = bbqlAnd{left, right}
	}
	return left, nil
}

func (p *bbqlParser) parseTerm() (bbqlExpr, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.tok.kind == tokLParen {
		p.next()
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, fmt.Errorf("expected ) at position %d", p.tok.pos)
		}
		p.next()
		return e, nil
	}
	if p.tok.kind != tokIdent {
		return nil, fmt.Errorf("expected a field name at position %d", p.tok.pos)
	}
	field := p.tok.text
	if !p.known[field] {
		return nil, fmt.Errorf("%q is not a valid field name", field)
	}
	p.next()
	if p.keyword("IN") || p.keyword("NOT") {
		return p.parseIn(field)
	}
	if p.tok.kind != tokOp {
		return nil, fmt.Errorf("expected an operator after %q", field)
	}
	op := p.tok.text
	p.next()
	if p.err != nil {
		return nil, p.err
	}
	if (op == "~" || op == "!~") && p.tok.kind != tokString {
		return nil, fmt.Errorf("%s takes a string", op)
	}
	value, err := p.parseValue(field + " " + op)
	if err != nil {
		return nil, err
	}
	return bbqlCmp{field: field, op: op, value: value}, nil
}

// parseIn reads `IN (v, …)` or `NOT IN (v, …)` after field.
func (p *bbqlParser) parseIn(field string) (bbqlExpr, error) {
	op := "IN"
	if p.keyword("NOT") {
		op = "NOT IN"
		p.next()
		if !p.keyword("IN") {
			return nil, fmt.Errorf("expected IN after %s NOT", field)
		}
	}
	p.next()
	if p.tok.kind != tokLParen {
		return nil, fmt.Errorf("%s %s takes a list in parentheses", field, op)
	}
	p.next()
	list := []any{}
	for {
		v, err := p.parseValue(field + " " + op)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		if p.tok.kind == tokRParen {
			p.next()
			return bbqlCmp{field: field, op: op, value: list}, nil
		}
		if p.tok.kind != tokComma {
			return nil, fmt.Errorf("expected , or ) in the list after %s %s", field, op)
		}
		p.next()
	}
}

// parseValue reads one value and moves past it; what names the place for errors.
func (p *bbqlParser) parseValue(what string) (any, error) {
	var value any
	switch {
	case p.err != nil:
		return nil, p.err
	case p.tok.kind == tokString:
		value = p.tok.text
	case p.tok.kind == tokTime:
		t, err := parseBBQLTime(p.tok.text)
		if err != nil {
			return nil, err
		}
		value = t
	case p.tok.kind == tokNumber:
		n, err := strconv.ParseFloat(p.tok.text, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %q", p.tok.text)
		}
		value = n
	case p.keyword("true"), p.keyword("false"):
		value = strings.EqualFold(p.tok.text, "true")
	case p.keyword("null"):
		value = nil
	default:
		return nil, fmt.Errorf("expected a value after %s (strings take double quotes)", what)
	}
	p.next()
	return value, nil
}

// sortObjects orders objs by a field ("-field" descending), stably. Objects missing
// the field sort first.
func sortObjects(objs []map[string]any, spec string, known map[string]bool) error {
	desc := strings.HasPrefix(spec, "-")
	field := strings.TrimPrefix(spec, "-")
	if !known[field] {
		return fmt.Errorf("%q is not a valid sort field", field)
	}
	less := func(a, b any) bool {
		if c, ok := bbqlCompare(a, b); ok {
			return c < 0
		}
		if ab, ok := a.(bool); ok {
			bb, _ := b.(bool)
			return !ab && bb
		}
		return a == nil && b != nil
	}
	sort.SliceStable(objs, func(i, j int) bool {
		a := lookupField(objs[i], field)
		b := lookupField(objs[j], field)
		if desc {
			return less(b, a)
		}
		return less(a, b)
	})
	return nil
}

// cloudRepoFields are the repository fields q and sort accept.
var cloudRepoFields = map[string]bool{
	"uuid": true, "name": true, "slug": true, "full_name": true, "description": true,
	"language": true, "is_private": true, "scm": true, "size": true, "has_issues": true,
	"has_wiki": true, "fork_policy": true, "created_on": true, "updated_on": true,
	"mainbranch.name": true, "project.key": true, "project.name": true, "project.uuid": true,
	"owner.uuid": true, "owner.username": true, "owner.display_name": true,
	"workspace.uuid": true, "workspace.slug": true, "workspace.name": true,
}
