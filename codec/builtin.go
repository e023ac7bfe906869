package codec

import (
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"unsafe"
)

// Built-in handling of standard-library types whose fields do not mean
// what they hold once copied field by field: they travel through the
// codec's own hook mechanism (the wire kind of a Marshaler), with a state
// the codec chooses.
//
//   - log/slog.Value (and so Attr and Record, made of them): a string value
//     is a pointer to its bytes and a length in another field, a group a
//     pointer to its first Attr and a count; field by field, the decoder
//     would copy one byte or one Attr. The state is the value's Any() (for
//     a group, its []Attr), made a Value again with slog.AnyValue.
//   - strings.Builder: it points to itself, and a copy refuses to grow.
//     The state is its contents.
//   - regexp.Regexp: its MarshalText gives the expression, not the
//     leftmost-longest setting. The state holds both.
//
// container/list and container/ring need nothing: their pointers into
// their own objects are interior pointers, which the codec keeps.
// time.Location travels by name, or as a fixed zone (see appendTime).
type builtinHook struct {
	marshal   func(p unsafe.Pointer) (any, error)
	unmarshal func(p unsafe.Pointer, state any) error
}

// RegexpState is the state a *regexp.Regexp travels as.
type RegexpState struct {
	Expr    string
	Longest bool
}

var builtinHooks = map[reflect.Type]*builtinHook{
	reflect.TypeFor[slog.Value](): {
		marshal: func(p unsafe.Pointer) (any, error) {
			v := *(*slog.Value)(p)
			if v.Kind() == slog.KindGroup {
				return v.Group(), nil
			}
			return v.Any(), nil
		},
		unmarshal: func(p unsafe.Pointer, state any) error {
			*(*slog.Value)(p) = slog.AnyValue(state)
			return nil
		},
	},
	reflect.TypeFor[strings.Builder](): {
		marshal: func(p unsafe.Pointer) (any, error) { return (*strings.Builder)(p).String(), nil },
		unmarshal: func(p unsafe.Pointer, state any) error {
			s, ok := state.(string)
			if !ok {
				return fmt.Errorf("state is a %T, not a string", state)
			}
			b := (*strings.Builder)(p)
			*b = strings.Builder{}
			b.WriteString(s)
			return nil
		},
	},
	reflect.TypeFor[regexp.Regexp](): {
		marshal: func(p unsafe.Pointer) (any, error) {
			re := (*regexp.Regexp)(p)
			longest := reflect.ValueOf(re).Elem().FieldByName("longest")
			return RegexpState{Expr: re.String(), Longest: longest.IsValid() && longest.Bool()}, nil
		},
		unmarshal: func(p unsafe.Pointer, state any) error {
			st, ok := state.(RegexpState)
			if !ok {
				return fmt.Errorf("state is a %T, not a codec.RegexpState", state)
			}
			re, err := regexp.Compile(st.Expr)
			if err != nil {
				return err
			}
			if st.Longest {
				re.Longest()
			}
			reflect.NewAt(reflect.TypeFor[regexp.Regexp](), p).Elem().Set(reflect.ValueOf(re).Elem())
			return nil
		},
	},
}

// hookState returns the state the value at p, of a type with a hook,
// travels as: its MarshalCodec's, or the codec's own for built-in types.
func hookState(ti *typeInfo, p unsafe.Pointer) (any, error) {
	if h := builtinHooks[ti.t]; h != nil {
		state, err := h.marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: %s: %w", ti.t, err)
		}
		return state, nil
	}
	state, err := reflect.NewAt(ti.t, p).Interface().(Marshaler).MarshalCodec()
	if err != nil {
		return nil, fmt.Errorf("codec: (%s).MarshalCodec: %w", ti.t, err)
	}
	return state, nil
}

// setHookState sets the value at p from its decoded state.
func setHookState(ti *typeInfo, p unsafe.Pointer, state any) error {
	if h := builtinHooks[ti.t]; h != nil {
		return callUser(ti.t, "codec's built-in decoding", func() error { return h.unmarshal(p, state) })
	}
	u := reflect.NewAt(ti.t, p).Interface().(Unmarshaler)
	return callUser(ti.t, "UnmarshalCodec", func() error { return u.UnmarshalCodec(state) })
}
