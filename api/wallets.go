package api

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/officex/officex/ledger"
)

func walletBody(wl ledger.Wallet) map[string]any {
	return map[string]any{"wallet_id": wl.ID, "owner_type": wl.Kind, "available": wl.Available,
		"reserved": wl.Reserved, "total": wl.Available + wl.Reserved, "created_at": wl.CreatedAt, "updated_at": wl.UpdatedAt}
}

// ownWallet loads the wallet in the path and checks the caller owns it: their
// user wallet or the wallet of an app they publish.
func (s *Server) ownWallet(r *http.Request) (ledger.Wallet, error) {
	id, err := pathUUID(r, "id", ledger.ErrWalletNotFound)
	if err != nil {
		return ledger.Wallet{}, err
	}
	wl, err := ledger.GetWallet(r.Context(), s.pool, id)
	if err != nil {
		return ledger.Wallet{}, err
	}
	if wl.Kind == "treasury" || wl.OwnerUserID != currentUser(r).ID {
		return ledger.Wallet{}, errForbidden
	}
	return wl, nil
}

func (s *Server) getWallet(w http.ResponseWriter, r *http.Request) error {
	wl, err := s.ownWallet(r)
	if err != nil {
		return err
	}
	ok(w, walletBody(wl))
	return nil
}

func transactionBody(t ledger.Transaction) map[string]any {
	body := map[string]any{"log_id": t.ID, "transaction_id": t.ID, "kind": t.Kind, "reference": t.Reference,
		"actor": t.Actor, "memo": t.Memo, "available_change": t.AvailableChange, "reserved_change": t.ReservedChange,
		"amount": t.AvailableChange + t.ReservedChange, "created_at": t.CreatedAt}
	if t.Entries != nil {
		body["entries"] = t.Entries
	}
	return body
}

func (s *Server) walletTransactions(w http.ResponseWriter, r *http.Request) error {
	wl, err := s.ownWallet(r)
	if err != nil {
		return err
	}
	return s.listTransactions(w, r, wl.ID)
}

func (s *Server) listTransactions(w http.ResponseWriter, r *http.Request, wallet uuid.UUID) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	p := ledger.Page{Limit: limit + 1}
	if cursor != nil {
		p.AfterCreated, p.AfterID = &cursor.Created, cursor.ID
	}
	txs, err := ledger.ListTransactions(r.Context(), s.pool, wallet, p)
	if err != nil {
		return err
	}
	return writePage(w, "transactions", txs, limit, noErr(transactionBody),
		func(t ledger.Transaction) keysetCursor { return keysetCursor{Created: t.CreatedAt, ID: t.ID} })
}

func (s *Server) walletTransaction(w http.ResponseWriter, r *http.Request) error {
	wl, err := s.ownWallet(r)
	if err != nil {
		return err
	}
	id, err := pathUUID(r, "log_id", ledger.ErrTransactionNotFound)
	if err != nil {
		return err
	}
	t, err := ledger.GetTransaction(r.Context(), s.pool, wl.ID, id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"transaction": transactionBody(t)})
	return nil
}
