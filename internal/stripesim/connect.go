package stripesim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Test destinations that force a failure (see the package doc).
const (
	failingAccountPrefix = "acct_fail"
	missingAccountPrefix = "acct_gone"
	failingBankPrefix    = "ba_fail"
	failingCardPrefix    = "card_fail"
	payoutArrival        = 2 * 24 * time.Hour // a standard payout's usual delay
)

var (
	transferParams = []string{"amount", "currency", "destination", "metadata", "transfer_group", "description"}
	payoutParams   = []string{"amount", "currency", "destination", "metadata", "description", "statement_descriptor"}
)

// createTransfer moves funds to a connected account.
func (s *Server) createTransfer(c *call) reply {
	p := c.params
	if e := p.rejectUnknown(transferParams...); e != nil {
		return failure(e)
	}
	amount, cur, e := p.money(minOne)
	if e != nil {
		return failure(e)
	}
	dest, e := p.required("destination")
	if e != nil {
		return failure(e)
	}
	if e := checkTransferDestination(dest); e != nil {
		return failure(e)
	}
	md, e := p.metadata()
	if e != nil {
		return failure(e)
	}
	tr := &transfer{
		ID: newID("tr"), Object: "transfer", Amount: amount, Currency: cur, Destination: dest,
		BalanceTransaction: newID("txn"), Created: s.now().Unix(), DestinationPayment: newID("py"),
		Description: p.optionalString("description"), Metadata: md, SourceType: "card",
		TransferGroup: p.optionalString("transfer_group"),
	}
	tr.Reversals = list{Object: "list", Data: []any{}, URL: "/v1/transfers/" + tr.ID + "/reversals"}
	s.put(tr.ID, c.account, tr)
	s.transfers = append(s.transfers, tr.ID)
	s.counts.transfers++
	return ok(tr)
}

// checkTransferDestination refuses acct_fail* as an account that cannot
// receive transfers, and anything not shaped like an account id as missing.
func checkTransferDestination(dest string) *apiError {
	if strings.HasPrefix(dest, failingAccountPrefix) {
		return invalid("insufficient_capabilities_for_transfer", "destination",
			"Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments")
	}
	if !accountID.MatchString(dest) {
		return errNoSuch(http.StatusBadRequest, "destination", dest, "destination")
	}
	return nil
}

// Listing bounds, as on Stripe.
const (
	defaultListLimit = 10
	maxListLimit     = 100
)

// listTransfers lists the account's transfers, newest first, filtered by
// transfer_group and destination; one page of limit (no cursors).
func (s *Server) listTransfers(c *call) reply {
	p := c.params
	if e := p.rejectUnknown("limit", "transfer_group", "destination"); e != nil {
		return failure(e)
	}
	limit := defaultListLimit
	if v := p.get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return failure(invalid("", "limit", "Invalid limit: must be an integer between 1 and %d.", maxListLimit))
		}
		limit = n
	}
	group, dest := p.get("transfer_group"), p.get("destination")
	out := list{Object: "list", Data: []any{}, URL: "/v1/transfers"}
	for i := len(s.transfers) - 1; i >= 0; i-- {
		tr, found := find[transfer](s, s.transfers[i], c.account)
		if !found || (group != "" && (tr.TransferGroup == nil || *tr.TransferGroup != group)) || (dest != "" && tr.Destination != dest) {
			continue
		}
		if len(out.Data) == limit {
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, tr)
	}
	return ok(out)
}

func (s *Server) getTransfer(c *call) reply {
	if e := c.params.rejectUnknown(); e != nil {
		return failure(e)
	}
	tr, found := find[transfer](s, c.id, c.account)
	if !found {
		return failure(errNoSuch(http.StatusNotFound, "transfer", c.id, "id"))
	}
	return ok(tr)
}

// createPayout sends funds of the account (Stripe-Account header, or the
// platform) to one of its external accounts. The payout starts pending, as
// on Stripe; SettlePayout finishes it.
func (s *Server) createPayout(c *call) reply {
	p := c.params
	if e := p.rejectUnknown(payoutParams...); e != nil {
		return failure(e)
	}
	amount, cur, e := p.money(minOne)
	if e != nil {
		return failure(e)
	}
	dest, typ, e := payoutDestination(p.get("destination"))
	if e != nil {
		return failure(e)
	}
	md, e := p.metadata()
	if e != nil {
		return failure(e)
	}
	now := s.now()
	po := &payout{
		ID: newID("po"), Object: "payout", Amount: amount, Currency: cur, Destination: dest, Type: typ,
		ArrivalDate: now.Add(payoutArrival).Unix(), BalanceTransaction: newID("txn"), Created: now.Unix(),
		Description: p.optionalString("description"), Metadata: md, Method: "standard",
		ReconciliationStatus: "not_applicable", SourceType: "card",
		StatementDescriptor: p.optionalString("statement_descriptor"), Status: "pending",
	}
	s.put(po.ID, c.account, po)
	s.payouts = append(s.payouts, po.ID)
	s.counts.payouts++
	return ok(po)
}

// payoutDestination checks an external account id and returns it with the
// payout type; without one, Stripe pays the default bank account.
func payoutDestination(dest string) (string, string, *apiError) {
	switch {
	case dest == "":
		return "ba_" + randomString(24), "bank_account", nil
	case strings.HasPrefix(dest, "ba_"):
		return dest, "bank_account", nil
	case strings.HasPrefix(dest, "card_"):
		return dest, "card", nil
	}
	return "", "", errNoSuch(http.StatusBadRequest, "external account", dest, "destination")
}

func (s *Server) getPayout(c *call) reply {
	if e := c.params.rejectUnknown(); e != nil {
		return failure(e)
	}
	po, found := find[payout](s, c.id, c.account)
	if !found {
		return failure(errNoSuch(http.StatusNotFound, "payout", c.id, "id"))
	}
	return ok(po)
}

// SettlePayout plays the bank's side of a pending payout: it is paid, or
// failed (account_closed) when its destination is ba_fail* or card_fail*. It
// returns the Stripe Event (payout.paid or payout.failed) that Stripe would
// send to webhooks, with "account" set for a connected account's payout.
func (s *Server) SettlePayout(payoutID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	po, account, found := findAnyAccount[payout](s, payoutID)
	if !found {
		return nil, fmt.Errorf("stripesim: no payout %q", payoutID)
	}
	if po.Status != "pending" {
		return nil, fmt.Errorf("stripesim: payout %s is %s, not pending", payoutID, po.Status)
	}
	if strings.HasPrefix(po.Destination, failingBankPrefix) || strings.HasPrefix(po.Destination, failingCardPrefix) {
		code, msg, txn := "account_closed", "The bank account has been closed.", newID("txn")
		po.Status, po.FailureCode, po.FailureMessage, po.FailureBalanceTransaction = "failed", &code, &msg, &txn
	} else {
		po.Status = "paid"
	}
	return newEvent("payout."+po.Status, po, account), nil
}

// getAccount answers a connected account: any acct_ id of Stripe's shape
// exists (acct_fail... too: it exists but cannot receive transfers), except
// acct_gone..., which Stripe does not know (404, as for any other id).
func (s *Server) getAccount(c *call) reply {
	if e := c.params.rejectUnknown(); e != nil {
		return failure(e)
	}
	if !accountID.MatchString(c.id) || strings.HasPrefix(c.id, missingAccountPrefix) {
		return failure(errNoSuch(http.StatusNotFound, "account", c.id, "account"))
	}
	return ok(map[string]any{"id": c.id, "object": "account", "type": "express", "charges_enabled": true,
		"payouts_enabled": true, "details_submitted": true, "country": "US", "default_currency": "usd",
		"capabilities": map[string]any{"transfers": map[bool]string{true: "inactive", false: "active"}[strings.HasPrefix(c.id, failingAccountPrefix)]}})
}
