package typed

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// NewInformer returns a shared informer of the objects r lists and
// watches, indexed by namespace, with tweak applied to the options of
// each list and watch (nil for none); example is an object of the kind.
// It is the informer client-go's informer factory makes for the kind,
// without the factory, which links every API group's informers.
func NewInformer[T, L runtime.Object](r Resource[T, L], example T, tweak func(*metav1.ListOptions)) cache.SharedIndexInformer {
	opts := func(o metav1.ListOptions) metav1.ListOptions {
		if tweak != nil {
			tweak(&o)
		}
		return o
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return r.List(ctx, opts(o))
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return r.Watch(ctx, opts(o))
		},
	}
	// r says, as client-go's fake clientsets do, when it cannot stream
	// the initial list in a watch (IsWatchListSemanticsUnSupported).
	return cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, r), example, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

// Informers runs informers until the context each was started with ends;
// Wait waits for them all to stop.
type Informers struct{ wg sync.WaitGroup }

// Run runs inf until ctx ends.
func (s *Informers) Run(ctx context.Context, inf cache.SharedIndexInformer) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		inf.RunWithContext(ctx)
	}()
}

// Wait waits until every informer Run started has stopped.
func (s *Informers) Wait() { s.wg.Wait() }
