package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/officex/officex/internal/cli"
	"github.com/officex/officex/ledger"
)

var appColumns = cli.Cols("App", "app_id", "Slug", "slug", "Name", "name", "Status", "status", "Price", "price_type", "Wallet", "destination_wallet_id")

func appsCmd() *cobra.Command {
	list := apiCommand(&cobra.Command{Use: "list", Short: "List the apps you publish"}, authUser,
		func(ctx context.Context, x *call, _ []string) error {
			return x.getShow(ctx, "/users/me/apps", func(w io.Writer, b cli.Object) error { return cli.Table(w, appColumns, b.List("apps")) })
		})
	show := apiCommand(&cobra.Command{Use: "show APP_ID", Short: "Show one of your apps, every field", Args: args("APP_ID")}, authUser,
		func(ctx context.Context, x *call, a []string) error {
			return x.getShow(ctx, "/users/me/apps/"+cli.PathEscape(a[0]), func(w io.Writer, b cli.Object) error { return appFields(w, b.Obj("app")) })
		})
	return group("apps", "Publish and inspect your apps", groupUser, list, appsCreateCmd(), show)
}

// appFields shows an app: the main fields first, then every other one set.
func appFields(w io.Writer, app cli.Object) error {
	cols := append([]cli.Column{}, appColumns...)
	cols = append(cols, cli.Cols("Owner", "owner_user_id", "Created", "created_at", "Updated", "updated_at")...)
	shown := map[string]bool{}
	for _, c := range cols {
		shown[c.Path] = true
	}
	for _, key := range sortedKeys(app) {
		if !shown[key] {
			cols = append(cols, cli.Column{Header: key, Path: key})
		}
	}
	return cli.Fields(w, cols, app)
}

func sortedKeys(o cli.Object) []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appsCreateCmd() *cobra.Command {
	var file string
	fields := map[string]*string{}
	c := &cobra.Command{Use: "create", Short: "Register an app (its webhook secret is shown once)",
		Long: `Register an app (POST /register-app). Give the profile with the flags, or all of
it (suggested_rate_limits, pricing_lines, documentation, ...) as a JSON file
with --file; flags override the file's fields. The answer's webhook_secret
verifies OfficeX's webhook signatures and is shown only this once.`,
		Example: `  officex apps create --name "Lead Enrichment Pro" --price-type PAY_PER_USE \
    --webhook-url https://myapp.example.com/webhooks/officex
  officex apps create --file app.json --json`}
	for flag, help := range map[string]string{"name": "the app's name (3-50 characters; required)", "description": "what it does",
		"price-type": "FREE, PAY_PER_USE, ONE_TIME, SUBSCRIPTION or MIXED", "webhook-url": "HTTPS URL for INSTALL/UNINSTALL events",
		"subtitle": "one line under the name", "category": "its catalog category", "developer": "who makes it",
		"app-url": "its home page", "iframe-url": "its embedded experience", "support-url": "where users get help",
		"contact-email": "the vendor's contact"} {
		fields[flag] = c.Flags().String(flag, "", help)
	}
	c.Flags().StringVar(&file, "file", "", "a JSON file with the app's profile (the reference's register-app body)")
	return apiCommand(c, authUser, func(ctx context.Context, x *call, _ []string) error {
		body, err := appProfile(file, fields)
		if err != nil {
			return err
		}
		ans, err := x.api.Post(ctx, "/register-app", body)
		if err != nil {
			return err
		}
		return x.show(ans, func(w io.Writer, b cli.Object) error {
			if err := cli.Fields(w, cli.Cols("App", "app_id", "Slug", "slug", "Wallet", "destination_wallet_id", "Webhook secret", "webhook_secret"), b); err != nil {
				return err
			}
			_, err := fmt.Fprintln(x.err, "Store the webhook secret now: it is shown once.")
			return err
		})
	})
}

// appProfile is the register-app body: the file's object with the flags set over it.
func appProfile(file string, flags map[string]*string) (map[string]any, error) {
	body := map[string]any{}
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, usageError{err}
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, usageError{fmt.Errorf("%s: want a JSON object: %w", file, err)}
		}
	}
	for flag, v := range flags {
		if *v != "" {
			body[jsonName(flag)] = *v
		}
	}
	if body["name"] == nil {
		return nil, usageError{fmt.Errorf("an app needs a name: pass --name (or a name in --file)")}
	}
	return body, nil
}

// jsonName turns a flag name (price-type) into the API's field (price_type).
func jsonName(flag string) string {
	out := []byte(flag)
	for i, c := range out {
		if c == '-' {
			out[i] = '_'
		}
	}
	return string(out)
}

func installsCmd() *cobra.Command {
	list := apiCommand(&cobra.Command{Use: "list", Short: "List the apps you installed, with their limits and spend"}, authUser,
		func(ctx context.Context, x *call, _ []string) error {
			return x.getShow(ctx, "/users/me/installs", func(w io.Writer, b cli.Object) error {
				return cli.Table(w, cli.Cols("Install", "install_id", "App", "app_slug", "Name", "app_name", "Status", "status", "Spent", "lifetime_spend", "Limit", "lifetime_spend_limit", "Allowed until", "allowed_until", "Installed", "installed_at"), b.List("installs"))
			})
		})
	return group("installs", "The apps you installed", groupUser, list)
}

func vouchersCmd() *cobra.Command {
	var wallet string
	redeem := &cobra.Command{Use: "redeem CODE", Short: "Redeem a voucher into your wallet", Args: args("CODE")}
	redeem.Flags().StringVar(&wallet, "wallet", "", "your user wallet id (default: the saved one, else asked of the API)")
	apiCommand(redeem, authUser, func(ctx context.Context, x *call, a []string) error {
		id, err := myWalletID(ctx, x, wallet)
		if err != nil {
			return err
		}
		ans, err := x.api.Post(ctx, "/vouchers/"+cli.PathEscape(a[0])+"/redeem", map[string]string{"wallet_id": id})
		if err != nil {
			return err
		}
		return x.show(ans, func(w io.Writer, b cli.Object) error {
			return cli.Fields(w, cli.Cols("Voucher", "code", "Credits added", "credits_added", "New balance", "new_balance", "Transaction", "transaction_id"), b)
		})
	})
	return group("vouchers", "Redeem vouchers (create: finance, admin secret)", groupUser, redeem, vouchersCreateCmd())
}

func vouchersCreateCmd() *cobra.Command {
	var code, amount, expires string
	var maxRedemptions int
	c := &cobra.Command{Use: "create", Short: "Create a voucher (admin secret)",
		Long: `Create a voucher worth --amount credits per redemption (an exact decimal, at
most 6 places). Without --code a 12-character code is generated.`,
		Example: `  officex vouchers create --amount 25 --code WELCOME25 --max-redemptions 100 --expires-at 2027-01-01T00:00:00Z`}
	c.Flags().StringVar(&amount, "amount", "", "credits per redemption, e.g. 25 or 0.5 (required)")
	c.Flags().StringVar(&code, "code", "", "the code (4-64 letters, digits, _ or -; stored upper-case)")
	c.Flags().IntVar(&maxRedemptions, "max-redemptions", 0, "how many times it can be redeemed (default: the API's)")
	c.Flags().StringVar(&expires, "expires-at", "", "when it stops being redeemable (RFC 3339)")
	return apiCommand(c, authAdmin, func(ctx context.Context, x *call, _ []string) error {
		if _, err := ledger.ParseCredits(amount); err != nil {
			return usageError{fmt.Errorf("--amount %q: %w", amount, err)}
		}
		body := map[string]any{"amount": amount} // a string: sent exactly as typed
		if code != "" {
			body["code"] = code
		}
		if maxRedemptions != 0 {
			body["max_redemptions"] = maxRedemptions
		}
		if expires != "" {
			if _, err := time.Parse(time.RFC3339, expires); err != nil {
				return usageError{fmt.Errorf("--expires-at %q: want RFC 3339, e.g. 2027-01-01T00:00:00Z", expires)}
			}
			body["expires_at"] = expires
		}
		ans, err := x.api.Post(ctx, "/admin/vouchers", body)
		if err != nil {
			return err
		}
		return x.show(ans, func(w io.Writer, b cli.Object) error { return cli.Fields(w, voucherFields, b.Obj("voucher")) })
	})
}

var voucherFields = cli.Cols("Code", "code", "Amount", "amount", "Redeemable", "redeemable", "Redemptions", "redemptions", "Max redemptions", "max_redemptions", "Expires", "expires_at", "Created", "created_at")
