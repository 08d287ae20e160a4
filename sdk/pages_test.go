package officex

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/officex/officex/sdk/openapi"
)

// pager serves items 0..n-1 in pages of size, its cursors the next index.
func pager(n, size int, calls *int) PageFunc[int] {
	return func(_ context.Context, cursor *string) ([]int, openapi.Pagination, error) {
		*calls++
		start := 0
		if cursor != nil {
			start, _ = strconv.Atoi(*cursor)
		}
		end := min(start+size, n)
		items := make([]int, 0, size)
		for i := start; i < end; i++ {
			items = append(items, i)
		}
		p := openapi.Pagination{HasMore: end < n}
		if p.HasMore {
			next := strconv.Itoa(end)
			p.NextCursor = &next
		}
		return items, p, nil
	}
}

func TestAll_WalksEveryPageAndStopsOnBreak(t *testing.T) {
	calls := 0
	var got []int
	for v, err := range All(context.Background(), pager(7, 3, &calls)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 7 || got[6] != 6 || calls != 3 {
		t.Fatalf("got %v in %d calls", got, calls)
	}
	calls = 0
	for v := range All(context.Background(), pager(100, 3, &calls)) {
		if v == 4 {
			break
		}
	}
	if calls != 2 {
		t.Fatalf("%d pages fetched before a break on the second page", calls)
	}
}

func TestAll_YieldsTheErrorAndAStuckCursor(t *testing.T) {
	boom := errors.New("boom")
	for _, err := range All(context.Background(), func(context.Context, *string) ([]int, openapi.Pagination, error) {
		return nil, openapi.Pagination{}, boom
	}) {
		if !errors.Is(err, boom) {
			t.Fatalf("err %v", err)
		}
	}
	same := "c"
	n := 0
	for _, err := range All(context.Background(), func(context.Context, *string) ([]int, openapi.Pagination, error) {
		return []int{1}, openapi.Pagination{HasMore: true, NextCursor: &same}, nil
	}) {
		if n++; n > 10 {
			t.Fatal("a cursor that never moves loops forever")
		}
		if err != nil {
			return
		}
	}
	t.Fatal("no error for a stuck cursor")
}
