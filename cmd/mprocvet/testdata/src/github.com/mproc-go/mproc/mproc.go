// Package mproc is a stand-in with the signatures of the real one, for
// the analyzer's tests.
package mproc

import (
	"context"
	"iter"
	"os"
)

type Pool struct{}
type Option func()
type CallOption func()
type Future[T any] struct{}
type Process[T any] struct{}
type Shared[T any] struct{}
type Queue[T any] struct{}
type PipeEnd[T any] struct{}
type SharedMap[K comparable, V any] struct{ S *Shared[map[K]V] }
type SharedList[T any] struct{ S *Shared[[]T] }

func Map[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), in []In, opts ...CallOption) ([]Out, error) {
	return nil, nil
}
func Imap[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), seq iter.Seq[In], opts ...CallOption) iter.Seq2[Out, error] {
	return nil
}
func ImapUnordered[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), seq iter.Seq[In], opts ...CallOption) iter.Seq2[Out, error] {
	return nil
}
func Submit[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), in In, opts ...CallOption) *Future[Out] {
	return nil
}
func Start[In, Out any](ctx context.Context, fn func(context.Context, In) (Out, error), arg In, opts ...Option) (*Process[Out], error) {
	return nil, nil
}
func Initializer[A any](fn func(ctx context.Context, arg A) error, arg A) Option { return nil }
func Call[T, A, R any](ctx context.Context, s *Shared[T], fn func(*T, A) (R, error), arg A) (R, error) {
	var r R
	return r, nil
}
func Plain[In, Out any](fn func(In) Out) func(context.Context, In) (Out, error) { return nil }

func (q *Queue[T]) Put(ctx context.Context, v T) error         { return nil }
func (q *Queue[T]) PutMany(ctx context.Context, vs ...T) error { return nil }
func (p *PipeEnd[T]) Send(ctx context.Context, v T) error      { return nil }

func (q *Queue[T]) MarshalHandle() (any, []*os.File, error) { return nil, nil, nil }
func (q *Queue[T]) UnmarshalHandle(any) error               { return nil }

func (s *Shared[T]) Store(ctx context.Context, v T) error                     { return nil }
func (m *SharedMap[K, V]) Set(ctx context.Context, k K, v V) error            { return nil }
func (l *SharedList[T]) Append(ctx context.Context, values ...T) (int, error) { return 0, nil }
func (l *SharedList[T]) Set(ctx context.Context, i int, v T) error            { return nil }
