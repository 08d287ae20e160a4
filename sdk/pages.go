package officex

import (
	"context"
	"fmt"
	"iter"

	"github.com/officex/officex/sdk/openapi"
)

// PageFunc fetches the page of a list that starts at cursor (nil: the first
// page) and returns its items and pagination.
type PageFunc[T any] func(ctx context.Context, cursor *string) ([]T, openapi.Pagination, error)

// All walks a paginated list from its first page to its last, following
// next_cursor; an error ends the walk after being yielded. Breaking out of
// the loop stops fetching.
//
//	for p, err := range officex.All(ctx, func(ctx context.Context, cursor *string) ([]openapi.Payout, openapi.Pagination, error) {
//		res, err := officex.Check(c.WalletPayoutsWithResponse(ctx, walletID, &openapi.WalletPayoutsParams{Cursor: cursor}))
//		if err != nil {
//			return nil, openapi.Pagination{}, err
//		}
//		return res.JSON200.Payouts, res.JSON200.Pagination, nil
//	}) { ... }
func All[T any](ctx context.Context, page PageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var cursor *string
		for {
			items, p, err := page(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !p.HasMore || p.NextCursor == nil || *p.NextCursor == "" {
				return
			}
			if cursor != nil && *cursor == *p.NextCursor {
				var zero T
				yield(zero, fmt.Errorf("officex: the list answered cursor %q twice", *cursor))
				return
			}
			cursor = p.NextCursor
		}
	}
}

// Transactions walks a wallet's journal, newest first (master key).
func (c *Client) Transactions(ctx context.Context, walletID string) iter.Seq2[openapi.Transaction, error] {
	return All(ctx, func(ctx context.Context, cursor *string) ([]openapi.Transaction, openapi.Pagination, error) {
		res, err := Check(c.WalletTransactionsWithResponse(ctx, walletID, &openapi.WalletTransactionsParams{Cursor: cursor}))
		if err != nil {
			return nil, openapi.Pagination{}, err
		}
		return res.JSON200.Transactions, res.JSON200.Pagination, nil
	})
}

// AppInbox walks the reservation events of a vendor's app (master key);
// unacknowledged limits it to the events not acknowledged yet.
func (c *Client) AppInbox(ctx context.Context, appID string, unacknowledged bool) iter.Seq2[openapi.AppInboxEvent, error] {
	params := openapi.AppInboxParams{}
	if unacknowledged {
		t := "true"
		params.Unacknowledged = &t
	}
	return All(ctx, func(ctx context.Context, cursor *string) ([]openapi.AppInboxEvent, openapi.Pagination, error) {
		p := params
		p.Cursor = cursor
		res, err := Check(c.AppInboxWithResponse(ctx, appID, &p))
		if err != nil {
			return nil, openapi.Pagination{}, err
		}
		return res.JSON200.Reservations, res.JSON200.Pagination, nil
	})
}

// Inbox walks the caller's inbox messages, newest first (master key).
func (c *Client) Inbox(ctx context.Context) iter.Seq2[openapi.InboxMessage, error] {
	return All(ctx, func(ctx context.Context, cursor *string) ([]openapi.InboxMessage, openapi.Pagination, error) {
		res, err := Check(c.MyInboxWithResponse(ctx, &openapi.MyInboxParams{Cursor: cursor}))
		if err != nil {
			return nil, openapi.Pagination{}, err
		}
		return res.JSON200.Messages, res.JSON200.Pagination, nil
	})
}
