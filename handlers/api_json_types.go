package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"time"
)

// jsonTypeError names the field of a body that has the wrong JSON type and
// the type it needs, such as ("team_ids", "an array of integers"). Go's
// decoder reports the Go type of the value it choked on (int64 for a
// string inside team_ids), so the expected type is read from dst's
// declaration instead. Errors that name no field (a time that is not a
// string) are located by decoding each top-level field alone. ok is false
// when err is not about one field's type.
func jsonTypeError(err error, body []byte, dst any) (field, want string, ok bool) {
	root := reflect.TypeOf(dst)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		if t, found := fieldType(root, strings.Split(te.Field, ".")); found {
			return te.Field, jsonTypeName(t), true
		}
		return te.Field, jsonTypeName(te.Type), true
	}
	var fields map[string]json.RawMessage
	if root.Kind() != reflect.Pointer || json.Unmarshal(body, &fields) != nil {
		return "", "", false
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		dec := json.NewDecoder(bytes.NewReader(one))
		if dec.Decode(reflect.New(root.Elem()).Interface()) == nil {
			continue
		}
		if t, found := fieldType(root, []string{k}); found {
			return k, jsonTypeName(t), true
		}
	}
	return "", "", false
}

// fieldType follows a dotted path of JSON names from t to the declared
// type of its last field.
func fieldType(t reflect.Type, path []string) (reflect.Type, bool) {
	for _, name := range path {
		t = unwrap(t)
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		found := false
		for i := range t.NumField() {
			f := t.Field(i)
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name && f.IsExported() {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return t, true
}

// optionalValue is implemented by Optional[T]: the type it holds.
type optionalValue interface{ valueType() reflect.Type }

func (Optional[T]) valueType() reflect.Type { return reflect.TypeFor[T]() }

// unwrap removes pointers and Optional from t.
func unwrap(t reflect.Type) reflect.Type {
	for {
		switch {
		case t.Kind() == reflect.Pointer:
			t = t.Elem()
		case t.Implements(reflect.TypeFor[optionalValue]()):
			t = reflect.Zero(t).Interface().(optionalValue).valueType()
		default:
			return t
		}
	}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// jsonTypeName is the JSON type a Go type is decoded from, for people.
func jsonTypeName(t reflect.Type) string {
	t = unwrap(t)
	switch {
	case t == timeType:
		return "a string holding an RFC 3339 date-time, like 2030-01-31T00:00:00Z"
	case t == rawType:
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		elem := unwrap(t.Elem())
		if elem == rawType {
			return "an array"
		}
		return "an array of " + jsonPlural(jsonTypeName(elem))
	}
	return "a JSON value"
}

// jsonPlural turns "an integer" into "integers".
func jsonPlural(name string) string {
	name = strings.TrimPrefix(strings.TrimPrefix(name, "an "), "a ")
	if strings.HasPrefix(name, "array") {
		return "arrays"
	}
	return name + "s"
}
