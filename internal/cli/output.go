package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Object is a decoded JSON object whose numbers are json.Number.
type Object map[string]any

// Field returns the value at a dotted path ("destination.type"), or nil.
func (o Object) Field(path string) any {
	var v any = map[string]any(o)
	for _, key := range strings.Split(path, ".") {
		m, ok := asMap(v)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// Text is the field at path as people read it: the API's own text for
// numbers (exact amounts), "-" for null or missing, compact JSON for objects.
func (o Object) Text(path string) string { return Text(o.Field(path)) }

// Obj is the object at path (empty when it is not one).
func (o Object) Obj(path string) Object {
	m, _ := asMap(o.Field(path))
	return m
}

// List is the array of objects at path.
func (o Object) List(path string) []Object {
	items, _ := o.Field(path).([]any)
	out := make([]Object, 0, len(items))
	for _, it := range items {
		if m, ok := asMap(it); ok {
			out = append(out, m)
		}
	}
	return out
}

func asMap(v any) (Object, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case Object:
		return m, true
	}
	return nil, false
}

// Text formats one JSON value for a table cell.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		return x
	case json.Number:
		return x.String() // the decimal exactly as the API wrote it
	case bool:
		if x {
			return "yes"
		}
		return "no"
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(raw)
	}
}

// Column is one table column: its header and the field path it shows.
type Column struct{ Header, Path string }

// Cols builds columns from header, path pairs.
func Cols(pairs ...string) []Column {
	if len(pairs)%2 != 0 {
		panic("cli.Cols: want header, path pairs")
	}
	cols := make([]Column, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		cols = append(cols, Column{Header: pairs[i], Path: pairs[i+1]})
	}
	return cols
}

// Table writes rows under the columns' headers, aligned with tabwriter.
func Table(w io.Writer, cols []Column, rows []Object) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.Header
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	for _, row := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = cell(row.Text(c.Path))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// Fields writes one object as "label  value" lines, in the columns' order.
func Fields(w io.Writer, cols []Column, o Object) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range cols {
		fmt.Fprintf(tw, "%s:\t%s\n", c.Header, cell(o.Text(c.Path)))
	}
	return tw.Flush()
}

// cell keeps a value on one line of the table.
func cell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// JSON writes the API's answer indented, numbers untouched.
func JSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
