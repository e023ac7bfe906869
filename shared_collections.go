package mproc

import (
	"context"
	"fmt"
)

// A SharedMap is a map owned by one process and used from any process it
// is handed to, like Python's Manager().dict(): every operation is a call
// to the owner (see Shared), so all processes see one map. The zero value
// is not usable; make one with NewSharedMap.
type SharedMap[K comparable, V any] struct {
	S *Shared[map[K]V] // the map itself, for Call with functions of your own
}

// NewSharedMap returns an empty map owned by this process.
func NewSharedMap[K comparable, V any]() *SharedMap[K, V] {
	return &SharedMap[K, V]{S: NewShared(map[K]V{})}
}

type keyValue[K comparable, V any] struct {
	K K
	V V
}

type found[V any] struct {
	V  V
	OK bool
}

func mapSet[K comparable, V any](m *map[K]V, kv keyValue[K, V]) (struct{}, error) {
	(*m)[kv.K] = kv.V
	return struct{}{}, nil
}

func mapGet[K comparable, V any](m *map[K]V, k K) (found[V], error) {
	v, ok := (*m)[k]
	return found[V]{v, ok}, nil
}

func mapDelete[K comparable, V any](m *map[K]V, k K) (struct{}, error) {
	delete(*m, k)
	return struct{}{}, nil
}

func mapLen[K comparable, V any](m *map[K]V, _ struct{}) (int, error) { return len(*m), nil }

// Set sets m[k] = v.
func (m *SharedMap[K, V]) Set(ctx context.Context, k K, v V) error {
	_, err := Call(ctx, m.S, mapSet[K, V], keyValue[K, V]{k, v})
	return err
}

// Get returns m[k] and whether k is in the map.
func (m *SharedMap[K, V]) Get(ctx context.Context, k K) (V, bool, error) {
	f, err := Call(ctx, m.S, mapGet[K, V], k)
	return f.V, f.OK, err
}

// Delete removes k.
func (m *SharedMap[K, V]) Delete(ctx context.Context, k K) error {
	_, err := Call(ctx, m.S, mapDelete[K, V], k)
	return err
}

// Len returns the number of keys.
func (m *SharedMap[K, V]) Len(ctx context.Context) (int, error) {
	return Call(ctx, m.S, mapLen[K, V], struct{}{})
}

// Items returns a copy of the whole map.
func (m *SharedMap[K, V]) Items(ctx context.Context) (map[K]V, error) { return m.S.Load(ctx) }

// A SharedList is a slice owned by one process and used from any process
// it is handed to, like Python's Manager().list(). Make one with
// NewSharedList.
type SharedList[T any] struct {
	S *Shared[[]T] // the slice itself, for Call with functions of your own
}

// NewSharedList returns a list owned by this process holding a copy of
// the values given.
func NewSharedList[T any](values ...T) *SharedList[T] {
	return &SharedList[T]{S: NewShared(append([]T(nil), values...))}
}

type indexValue[T any] struct {
	I int
	V T
}

func listAppend[T any](l *[]T, vs []T) (int, error) {
	*l = append(*l, vs...)
	return len(*l), nil
}

func listGet[T any](l *[]T, i int) (T, error) {
	var zero T
	if i < 0 || i >= len(*l) {
		return zero, &IndexError{Index: i, Len: len(*l)}
	}
	return (*l)[i], nil
}

func listSet[T any](l *[]T, iv indexValue[T]) (struct{}, error) {
	if iv.I < 0 || iv.I >= len(*l) {
		return struct{}{}, &IndexError{Index: iv.I, Len: len(*l)}
	}
	(*l)[iv.I] = iv.V
	return struct{}{}, nil
}

func listLen[T any](l *[]T, _ struct{}) (int, error) { return len(*l), nil }

// Append appends values and returns the new length.
func (l *SharedList[T]) Append(ctx context.Context, values ...T) (int, error) {
	return Call(ctx, l.S, listAppend[T], values)
}

// Get returns the element at index i, or an *IndexError.
func (l *SharedList[T]) Get(ctx context.Context, i int) (T, error) {
	return Call(ctx, l.S, listGet[T], i)
}

// Set sets the element at index i, or fails with an *IndexError.
func (l *SharedList[T]) Set(ctx context.Context, i int, v T) error {
	_, err := Call(ctx, l.S, listSet[T], indexValue[T]{i, v})
	return err
}

// Len returns the number of elements.
func (l *SharedList[T]) Len(ctx context.Context) (int, error) {
	return Call(ctx, l.S, listLen[T], struct{}{})
}

// Slice returns a copy of the whole list.
func (l *SharedList[T]) Slice(ctx context.Context) ([]T, error) { return l.S.Load(ctx) }

// An IndexError reports an index out of a SharedList's range.
type IndexError struct {
	Index, Len int
}

func (e *IndexError) Error() string {
	return fmt.Sprintf("mproc: index %d out of range for a shared list of length %d", e.Index, e.Len)
}
