package purchases

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/ledger"
)

// AuditCreditedAfterFailure is the audit action of a purchase we had failed
// and credited later because Stripe reported its payment succeeded.
const AuditCreditedAfterFailure = "purchase.credited_after_failure"

// CreditPaid credits a purchase whose PaymentIntent Stripe reports as
// succeeded: the ledger's Purchase movement and the row's succeeded status in
// one transaction. A purchase we had already failed is credited too (the
// money was taken), with an audit entry naming source (who reported the
// success). Idempotent by the purchase id: the row lock and the journal's
// unique (kind, reference) make a repeat return the first transaction.
func CreditPaid(ctx context.Context, pool *pgxpool.Pool, id uuid.UUID, paymentIntentID, source string) (uuid.UUID, error) {
	var txID uuid.UUID
	err := db.InTx(ctx, pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		row, err := q.GetCreditPurchaseForUpdate(ctx, id)
		if err != nil {
			return fmt.Errorf("lock purchase %s: %w", id, err)
		}
		if row.Status == "succeeded" {
			txID = row.JournalTransactionID.UUID
			return nil
		}
		if row.StripePaymentIntentID != nil && *row.StripePaymentIntentID != paymentIntentID {
			return fmt.Errorf("purchase %s is paid by %s, not %s; refusing to credit", id, *row.StripePaymentIntentID, paymentIntentID)
		}
		posted, err := ledger.Purchase(ctx, tx, row.WalletID, ledger.Credits(row.Amount), id.String(), "user:"+row.UserID.String())
		if err != nil {
			return fmt.Errorf("post purchase %s: %w", id, err)
		}
		txID = posted.TransactionID
		balance := posted.Wallets[row.WalletID].Available
		if err := q.SetCreditPurchaseIntent(ctx, dbgen.SetCreditPurchaseIntentParams{ID: id, StripePaymentIntentID: &paymentIntentID}); err != nil {
			return err
		}
		credited := uuid.NullUUID{UUID: txID, Valid: true}
		if row.Status != "failed" {
			return q.SetCreditPurchaseSucceeded(ctx, dbgen.SetCreditPurchaseSucceededParams{ID: id, JournalTransactionID: credited, BalanceAfter: &balance})
		}
		if err := q.SetCreditPurchaseSucceededAfterFailure(ctx, dbgen.SetCreditPurchaseSucceededAfterFailureParams{
			ID: id, JournalTransactionID: credited, BalanceAfter: &balance}); err != nil {
			return err
		}
		details, err := json.Marshal(map[string]any{"payment_intent_id": paymentIntentID, "amount": ledger.Credits(row.Amount),
			"amount_cents": row.AmountCents, "user_id": row.UserID, "failure_code": deref(row.FailureCode),
			"journal_transaction_id": txID, "reported_by": source})
		if err != nil {
			return err
		}
		return q.InsertAudit(ctx, dbgen.InsertAuditParams{Actor: "system", Action: AuditCreditedAfterFailure,
			TargetType: "credit_purchase", TargetID: id.String(), Details: details})
	})
	return txID, err
}
