package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/ledger"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func c(s string) ledger.Credits {
	v, err := ledger.ParseCredits(s)
	if err != nil {
		panic(err)
	}
	return v
}

// newWallet makes a user and returns its wallet id.
func newWallet(t *testing.T, kind string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var userID, walletID uuid.UUID
	email := testenv.UniqueEmail("ledger")
	if err := env.Pool.QueryRow(ctx, "INSERT INTO users (email) VALUES ($1) RETURNING id", email).Scan(&userID); err != nil {
		t.Fatal(err)
	}
	if err := env.Pool.QueryRow(ctx, "INSERT INTO wallets (kind, owner_user_id) VALUES ($1, $2) RETURNING id", kind, userID).Scan(&walletID); err != nil {
		t.Fatal(err)
	}
	return walletID
}

func post(t *testing.T, fn func(tx pgx.Tx) (ledger.Posted, error)) (ledger.Posted, error) {
	t.Helper()
	var p ledger.Posted
	err := db.InTx(context.Background(), env.Pool, func(tx pgx.Tx) error {
		var err error
		p, err = fn(tx)
		return err
	})
	return p, err
}

func balances(t *testing.T, wallet uuid.UUID) (ledger.Credits, ledger.Credits) {
	t.Helper()
	var a, r int64
	if err := env.Pool.QueryRow(context.Background(), "SELECT available, reserved FROM wallet_balances WHERE id = $1", wallet).Scan(&a, &r); err != nil {
		t.Fatal(err)
	}
	return ledger.Credits(a), ledger.Credits(r)
}

func expectBalances(t *testing.T, wallet uuid.UUID, available, reserved string) {
	t.Helper()
	a, r := balances(t, wallet)
	if a != c(available) || r != c(reserved) {
		t.Fatalf("wallet %s: available %s reserved %s, want %s and %s", wallet, a, r, available, reserved)
	}
}

func treasury(t *testing.T) ledger.Credits {
	t.Helper()
	id, err := ledger.TreasuryID(context.Background(), env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := balances(t, id)
	return a
}

func ref() string { return uuid.NewString() }

func TestMovements_FollowTheDesignTable(t *testing.T) {
	env.Client(t) // registers the invariant check
	ctx := context.Background()
	user, app := newWallet(t, "user"), newWallet(t, "app")
	t0 := treasury(t)

	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) {
		return ledger.Purchase(ctx, tx, user, c("10.5"), ref(), "test")
	})
	expectBalances(t, user, "10.5", "0")
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) {
		return ledger.Voucher(ctx, tx, user, c("0.5"), ref(), "test", "CODE")
	})
	expectBalances(t, user, "11", "0")
	if treasury(t) != t0-c("11") {
		t.Fatalf("treasury %s, want %s", treasury(t), t0-c("11"))
	}
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Reserve(ctx, tx, user, c("10"), ref(), "test") })
	expectBalances(t, user, "1", "10")
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) {
		return ledger.Settle(ctx, tx, user, app, c("8"), ref(), "test")
	})
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Refund(ctx, tx, user, c("2"), ref(), "test") })
	expectBalances(t, user, "3", "0")
	expectBalances(t, app, "8", "0")

	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.HoldPayout(ctx, tx, app, c("5"), ref(), "test") })
	expectBalances(t, app, "3", "5")
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) {
		return ledger.ReleasePayout(ctx, tx, app, c("1"), ref(), "test")
	})
	expectBalances(t, app, "4", "4")
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.BurnPayout(ctx, tx, app, c("4"), ref(), "test") })
	expectBalances(t, app, "4", "0")
	if treasury(t) != t0-c("7") {
		t.Fatalf("burn must lower the liability: treasury %s", treasury(t))
	}
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) {
		return ledger.RestorePayout(ctx, tx, app, c("4"), ref(), "test")
	})
	expectBalances(t, app, "8", "0")
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) {
		return ledger.Adjust(ctx, tx, user, -c("3"), ref(), "admin", "chargeback")
	})
	expectBalances(t, user, "0", "0")
}

func mustPost(t *testing.T, fn func(tx pgx.Tx) (ledger.Posted, error)) ledger.Posted {
	t.Helper()
	p, err := post(t, fn)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOverdraft_IsRefusedAndChangesNothing(t *testing.T) {
	env.Client(t)
	ctx := context.Background()
	user, app := newWallet(t, "user"), newWallet(t, "app")
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Purchase(ctx, tx, user, c("1"), ref(), "test") })
	cases := map[string]func(tx pgx.Tx) (ledger.Posted, error){
		"reserve": func(tx pgx.Tx) (ledger.Posted, error) {
			return ledger.Reserve(ctx, tx, user, c("1.000001"), ref(), "t")
		},
		"settle": func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Settle(ctx, tx, user, app, c("0.1"), ref(), "t") },
		"refund": func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Refund(ctx, tx, user, c("0.1"), ref(), "t") },
		"hold":   func(tx pgx.Tx) (ledger.Posted, error) { return ledger.HoldPayout(ctx, tx, app, c("0.1"), ref(), "t") },
		"adjust down": func(tx pgx.Tx) (ledger.Posted, error) {
			return ledger.Adjust(ctx, tx, user, -c("1")-1, ref(), "t", "r")
		},
	}
	for name, fn := range cases {
		if _, err := post(t, fn); !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Errorf("%s: err %v, want ErrInsufficientFunds", name, err)
		}
	}
	expectBalances(t, user, "1", "0")
	expectBalances(t, app, "0", "0")
}

func TestPost_SameReferenceTwiceMovesOnce(t *testing.T) {
	env.Client(t)
	ctx := context.Background()
	user := newWallet(t, "user")
	r := ref()
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Purchase(ctx, tx, user, c("2"), r, "t") })
	if _, err := post(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Purchase(ctx, tx, user, c("2"), r, "t") }); !errors.Is(err, ledger.ErrAlreadyPosted) {
		t.Fatalf("second post: %v", err)
	}
	expectBalances(t, user, "2", "0")
}

func TestPost_RefusesUnbalancedOrEmptyMovements(t *testing.T) {
	env.Client(t)
	ctx := context.Background()
	user := newWallet(t, "user")
	bad := []ledger.Movement{
		{Kind: ledger.KindAdjust, Reference: ref(), Actor: "t", Entries: []ledger.Entry{{user, ledger.Available, 5}}},
		{Kind: ledger.KindAdjust, Reference: ref(), Actor: "t", Entries: []ledger.Entry{{user, ledger.Available, 5}, {user, ledger.Reserved, -4}}},
		{Kind: ledger.KindAdjust, Reference: ref(), Actor: "t", Entries: []ledger.Entry{{user, ledger.Available, 0}, {user, ledger.Reserved, 0}}},
		{Kind: ledger.KindAdjust, Reference: "", Actor: "t", Entries: []ledger.Entry{{user, ledger.Available, 1}, {user, ledger.Reserved, -1}}},
	}
	for i, m := range bad {
		if _, err := post(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Post(ctx, tx, m) }); !errors.Is(err, ledger.ErrInvalidMovement) {
			t.Errorf("movement %d: %v", i, err)
		}
	}
	for _, n := range []ledger.Credits{0, -1} {
		if _, err := post(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Purchase(ctx, tx, user, n, ref(), "t") }); !errors.Is(err, ledger.ErrInvalidMovement) {
			t.Errorf("purchase of %s: %v", n, err)
		}
	}
}

func TestJournal_IsAppendOnlyAndBalancedInTheDatabase(t *testing.T) {
	env.Client(t)
	ctx := context.Background()
	user := newWallet(t, "user")
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Purchase(ctx, tx, user, c("1"), ref(), "t") })
	for _, stmt := range []string{
		"UPDATE journal_entries SET amount = amount * 2",
		"DELETE FROM journal_entries",
		"UPDATE journal_transactions SET actor = 'someone else'",
		"DELETE FROM journal_transactions",
		"TRUNCATE journal_entries",
	} {
		if _, err := env.Pool.Exec(ctx, stmt); err == nil {
			t.Errorf("%q was allowed", stmt)
		}
	}
	// Entries that do not sum to zero are refused at commit, even by raw SQL.
	err := db.InTx(ctx, env.Pool, func(tx pgx.Tx) error {
		var id uuid.UUID
		if err := tx.QueryRow(ctx, "INSERT INTO journal_transactions (kind, reference, actor) VALUES ('adjust', $1, 't') RETURNING id", ref()).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO journal_entries (transaction_id, wallet_id, bucket, amount) VALUES ($1, $2, 'available', 5)", id, user)
		return err
	})
	if err == nil {
		t.Fatal("an unbalanced journal transaction committed")
	}
	// A user or app bucket can't go negative even by raw SQL.
	if _, err := env.Pool.Exec(ctx, "UPDATE wallets SET available = -1 WHERE id = $1", user); err == nil {
		t.Fatal("a negative balance was stored")
	}
}

func TestReserve_ConcurrentOverdraftAllowsExactlyAffordable(t *testing.T) {
	env.Client(t)
	ctx := context.Background()
	user := newWallet(t, "user")
	mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Purchase(ctx, tx, user, c("7"), ref(), "t") })
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, broke := 0, 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := post(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Reserve(ctx, tx, user, c("1"), ref(), "t") })
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ledger.ErrInsufficientFunds):
				broke++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 7 || broke != 43 {
		t.Fatalf("%d reserves succeeded and %d were refused; want 7 and 43", wins, broke)
	}
	expectBalances(t, user, "0", "7")
	releaseReserved(t, user)
}

// releaseReserved refunds what a test reserved outside any reservation, so
// the reservations invariant holds for the checks after it.
func releaseReserved(t *testing.T, wallet uuid.UUID) {
	t.Helper()
	if _, r := balances(t, wallet); r > 0 {
		mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) {
			return ledger.Refund(context.Background(), tx, wallet, r, ref(), "t")
		})
	}
}

func TestSettle_ConcurrentOppositeDirectionsDoNotDeadlock(t *testing.T) {
	env.Client(t)
	ctx := context.Background()
	a, b := newWallet(t, "user"), newWallet(t, "user")
	for _, w := range []uuid.UUID{a, b} {
		mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Purchase(ctx, tx, w, c("100"), ref(), "t") })
		mustPost(t, func(tx pgx.Tx) (ledger.Posted, error) { return ledger.Reserve(ctx, tx, w, c("100"), ref(), "t") })
	}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := post(t, func(tx pgx.Tx) (ledger.Posted, error) {
				return ledger.Settle(ctx, tx, from, to, c("1"), ref(), "t")
			}); err != nil {
				t.Errorf("settle: %v", err)
			}
		}()
	}
	wg.Wait()
	expectBalances(t, a, "20", "80")
	expectBalances(t, b, "20", "80")
	releaseReserved(t, a)
	releaseReserved(t, b)
}

func TestCheckInvariants_ReportsATamperedWallet(t *testing.T) {
	ctx := context.Background()
	user := newWallet(t, "user")
	// Tamper inside a transaction that is rolled back, so other tests never see it.
	err := db.InTx(ctx, env.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE wallets SET available = available + 5 WHERE id = $1", user); err != nil {
			return err
		}
		rep, err := ledger.CheckInvariants(ctx, tx)
		if err != nil {
			return err
		}
		found := map[string]bool{}
		for _, v := range rep.Violations {
			if v.Subject == "wallet "+user.String() || v.Subject == "all wallets" {
				found[v.Invariant] = true
			}
		}
		if rep.OK || !found["zero_sum"] || !found["wallet_matches_journal"] {
			t.Errorf("report %+v misses the tampering", rep)
		}
		return fmt.Errorf("roll back")
	})
	if err == nil || err.Error() != "roll back" {
		t.Fatal(err)
	}
}
