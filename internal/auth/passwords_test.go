package auth

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPasswordSlots_OnePerCPUWithinTheMemoryBudget(t *testing.T) {
	n := PasswordSlots()
	if n < 1 || n > runtime.NumCPU() || n > PasswordHashMemoryBudget/ArgonMemory {
		t.Fatalf("PasswordSlots() = %d with %d CPUs and a budget of %d computations", n, runtime.NumCPU(), PasswordHashMemoryBudget/ArgonMemory)
	}
	if DefaultPasswordHasher().Slots() != n || DefaultPasswordHasher() != DefaultPasswordHasher() {
		t.Fatal("the default hasher must be one process-wide hasher of PasswordSlots()")
	}
}

func TestPasswordHasher_HoldCountsSlotsWaitsThenRefuses(t *testing.T) {
	h := NewPasswordHasher(2, 20*time.Millisecond)
	ctx := context.Background()
	r1, err1 := h.Hold(ctx)
	r2, err2 := h.Hold(ctx)
	if err1 != nil || err2 != nil || h.InUse() != 2 {
		t.Fatalf("two holds: %v %v, in use %d", err1, err2, h.InUse())
	}
	start := time.Now()
	if _, err := h.Hold(ctx); !errors.Is(err, ErrPasswordHashingBusy) {
		t.Fatalf("third hold: %v, want ErrPasswordHashingBusy", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("refused after %v, before the wait ended", waited)
	}
	if _, err := h.Check(ctx, "password123", ""); !errors.Is(err, ErrPasswordHashingBusy) {
		t.Fatalf("Check with every slot taken: %v", err)
	}
	if _, err := h.Hash(ctx, "password123"); !errors.Is(err, ErrPasswordHashingBusy) {
		t.Fatalf("Hash with every slot taken: %v", err)
	}
	if h.InUse() != 2 {
		t.Fatalf("refusals changed the count: %d in use", h.InUse())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Hold(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("hold with a cancelled context: %v", err)
	}

	// A release lets a waiter in.
	got := make(chan error, 1)
	slow := NewPasswordHasher(1, time.Minute)
	rs, _ := slow.Hold(ctx)
	go func() {
		r, err := slow.Hold(ctx)
		if err == nil {
			r()
		}
		got <- err
	}()
	rs()
	if err := <-got; err != nil {
		t.Fatalf("waiter after a release: %v", err)
	}
	r1()
	r2()
	if h.InUse() != 0 || slow.InUse() != 0 {
		t.Fatalf("in use after every release: %d, %d", h.InUse(), slow.InUse())
	}
}

func TestPasswordHasher_NeverRunsMoreThanItsSlots(t *testing.T) {
	h := NewPasswordHasher(2, time.Minute)
	encoded, err := h.Hash(context.Background(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	var most atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				if n := int64(h.InUse()); n > most.Load() {
					most.Store(n)
				}
				runtime.Gosched()
			}
		}
	}()
	var wg sync.WaitGroup
	var matched atomic.Int64
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := h.Check(context.Background(), "correct horse battery", encoded); err == nil && ok {
				matched.Add(1)
			}
		}()
	}
	wg.Wait()
	close(done)
	if matched.Load() != 6 || most.Load() > 2 || h.InUse() != 0 {
		t.Fatalf("%d of 6 checks matched, at most %d ran at once (2 slots), %d still in use", matched.Load(), most.Load(), h.InUse())
	}
}
