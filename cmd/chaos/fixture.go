package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
)

// Size of the fixture. Purchases are spread over many buyers because of the
// velocity limit (purchases.MaxPurchasesPerUser per hour).
const (
	vendorCount    = 4
	billerCount    = 24
	buyerCount     = 30
	billerFunding  = "100000" // credits per biller: far more than the load spends
	appWalletFunds = "100000" // credits per app wallet, for its payouts
	maxRate        = 1_000_000
)

// user is an account and its master key.
type user struct {
	ID, Key, WalletID string
}

func (u user) headers() map[string]string {
	return map[string]string{"x-officex-user-id": u.ID, "x-officex-master-key": u.Key}
}

// vendor owns one app, paid out to one Stripe connected account.
type vendor struct {
	user
	AppID, AppWallet, Account string
}

// install is a biller's install of a vendor's app.
type install struct {
	ID, Secret string
}

func (in install) headers() map[string]string {
	return map[string]string{"x-officex-install-id": in.ID, "x-officex-install-secret": in.Secret}
}

type fixture struct {
	vendors  []vendor
	installs []install
	buyers   []user
}

// setup makes the fixture through serve-1's API, before any fault: vendors
// with an app each (its wallet funded for payouts), billers with an install
// of one of the apps (funded), and buyers.
func (r *runner) setup(ctx context.Context) (fixture, error) {
	var fx fixture
	for i := 0; i < vendorCount; i++ {
		u, err := r.newUser(ctx, "vendor", i)
		if err != nil {
			return fx, err
		}
		a, err := r.must(ctx, "register-app", http.MethodPost, "/register-app",
			map[string]any{"name": fmt.Sprintf("Chaos App %d %s", i, r.run)}, u.headers(), http.StatusCreated)
		if err != nil {
			return fx, err
		}
		v := vendor{user: u, AppID: a.str("app_id"), AppWallet: a.str("destination_wallet_id"), Account: "acct_" + randomAlnum(16)}
		if err := r.fund(ctx, v.AppWallet, appWalletFunds); err != nil {
			return fx, err
		}
		fx.vendors = append(fx.vendors, v)
	}
	for i := 0; i < billerCount; i++ {
		u, err := r.newUser(ctx, "biller", i)
		if err != nil {
			return fx, err
		}
		if err := r.fund(ctx, u.WalletID, billerFunding); err != nil {
			return fx, err
		}
		a, err := r.must(ctx, "install", http.MethodPost, "/install/"+fx.vendors[i%vendorCount].AppID,
			map[string]any{"max_per_hour": maxRate, "max_per_day": maxRate, "max_per_month": maxRate}, u.headers(), http.StatusCreated)
		if err != nil {
			return fx, err
		}
		fx.installs = append(fx.installs, install{ID: a.str("install_id"), Secret: a.str("install_secret")})
	}
	for i := 0; i < buyerCount; i++ {
		u, err := r.newUser(ctx, "buyer", i)
		if err != nil {
			return fx, err
		}
		fx.buyers = append(fx.buyers, u)
	}
	return fx, nil
}

// newUser signs up through the reference's legacy route (testing mode):
// account and master key at once, without the code throttle of the OTP flow.
func (r *runner) newUser(ctx context.Context, role string, i int) (user, error) {
	a, err := r.must(ctx, "register-user", http.MethodPost, "/register-user",
		map[string]any{"email": fmt.Sprintf("%s-%d-%s@chaos.example.com", role, i, r.run)}, nil, http.StatusCreated)
	if err != nil {
		return user{}, err
	}
	return user{ID: a.str("user_id"), Key: a.str("api_key"), WalletID: a.str("wallet_id")}, nil
}

func (r *runner) fund(ctx context.Context, wallet, credits string) error {
	_, err := r.must(ctx, "admin adjust", http.MethodPost, "/admin/wallets/"+wallet+"/adjust",
		map[string]any{"amount": credits, "reason": "chaos funding"}, r.admin(), http.StatusOK)
	return err
}

// must calls serve-1 and wants the given status.
func (r *runner) must(ctx context.Context, route, method, path string, body any, headers map[string]string, want int) (answer, error) {
	a, err := r.api.call(ctx, 0, route, method, path, body, headers)
	if err != nil {
		return a, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if a.Status != want {
		return a, fmt.Errorf("%s %s: %d %v (want %d)", method, path, a.Status, a.Body, want)
	}
	return a, nil
}

func (r *runner) admin() map[string]string {
	return map[string]string{"x-officex-admin-secret": r.stack.adminKey}
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomAlnum is n random letters and digits (a Stripe account id's tail).
func randomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}
