package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/officex/officex/internal/cli"
)

// maxPromptBytes bounds one line typed at a prompt (an email, a code).
const maxPromptBytes = 1024

func loginCmd() *cobra.Command {
	var email, code string
	c := &cobra.Command{Use: "login", Short: "Sign in with your email and a one-time code; saves your master key", GroupID: groupUser,
		Long: `Sign in (or sign up) with your email: the API mails a one-time code (testing
mode: 0000), you type it, and the new master key is saved with the API URL in
~/.config/officex/credentials (mode 0600) for the other commands.

Without --email or --code it asks on the terminal (or reads lines from stdin).
With --code it only exchanges a code you already received, sending none.`,
		Example: `  officex login --api-url http://127.0.0.1:8080
  OFFICEX_API_URL=https://api.example.com officex login --email ada@example.com
  officex login --email ada@example.com --code 123456`}
	c.Flags().StringVar(&email, "email", "", "your email (asked when left out)")
	c.Flags().StringVar(&code, "code", "", "a one-time code already received (asked when left out, after one is mailed)")
	return apiCommand(c, authNone, func(ctx context.Context, x *call, _ []string) error {
		in := bufio.NewReader(io.LimitReader(os.Stdin, 16*maxPromptBytes))
		var err error
		if email == "" {
			if email, err = prompt(in, x.err, "Email: "); err != nil {
				return err
			}
		}
		if code == "" {
			// register mails a code to a new or an existing account alike.
			if _, err := x.api.Post(ctx, "/auth/register", map[string]string{"email": email}); err != nil {
				return fmt.Errorf("send a code to %s: %w", email, err)
			}
			if code, err = prompt(in, x.err, "Code sent to "+email+". Code: "); err != nil {
				return fmt.Errorf("%w (or run officex login --email %s --code CODE)", err, email)
			}
		}
		ans, err := x.api.Post(ctx, "/auth/verify-otp", map[string]string{"email": email, "code": code})
		if err != nil {
			return fmt.Errorf("sign in as %s: %w", email, err)
		}
		creds := cli.Credentials{APIURL: x.settings.APIURL, UserID: ans.Body.Text("user_id"), APIKey: ans.Body.Text("api_key"),
			WalletID: ans.Body.Text("wallet_id"), Email: email}
		if creds.WalletID == "-" {
			creds.WalletID = ""
		}
		if err := cli.SaveCredentials(x.settings.CredentialsFile, creds); err != nil {
			return fmt.Errorf("save the credentials: %w", err)
		}
		if x.json { // never the key: it is in the file
			raw, _ := json.Marshal(map[string]string{"user_id": creds.UserID, "wallet_id": creds.WalletID, "email": email,
				"credentials_file": x.settings.CredentialsFile})
			return cli.JSON(x.out, raw)
		}
		fmt.Fprintf(x.out, "Signed in as %s (user %s).\nCredentials saved to %s (mode 0600).\n", email, creds.UserID, x.settings.CredentialsFile)
		return nil
	})
}

// prompt asks on errOut and reads one line from in.
func prompt(in *bufio.Reader, errOut io.Writer, question string) (string, error) {
	fmt.Fprint(errOut, question)
	line, err := in.ReadString('\n')
	if !isTerminal(os.Stdin) {
		fmt.Fprintln(errOut) // nobody typed the line break
	}
	line = strings.TrimSpace(line)
	if line == "" {
		if err == nil || errors.Is(err, io.EOF) {
			return "", usageError{errors.New("nothing was typed")}
		}
		return "", err
	}
	if len(line) > maxPromptBytes {
		return "", usageError{fmt.Errorf("the answer is over %d bytes", maxPromptBytes)}
	}
	return line, nil
}

// isTerminal says whether f is a terminal (a person typing) or a pipe or file.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

var userFields = cli.Cols("User", "user_id", "Email", "email", "Wallet", "wallet_id", "Status", "status",
	"Email verified", "email_verified", "Password set", "has_password", "Created", "created_at")

func meCmd() *cobra.Command {
	return apiCommand(&cobra.Command{Use: "me", Short: "Show your profile", GroupID: groupUser},
		authUser, func(ctx context.Context, x *call, _ []string) error {
			return x.getShow(ctx, "/users/me", func(w io.Writer, b cli.Object) error { return cli.Fields(w, userFields, b.Obj("user")) })
		})
}

func balanceCmd() *cobra.Command {
	return apiCommand(&cobra.Command{Use: "balance", Short: "Show your wallet's available and reserved credits", GroupID: groupUser,
		Long: "Show your user wallet's credits: available, reserved by apps' open reservations, and their total (exact decimals)."},
		authUser, func(ctx context.Context, x *call, _ []string) error {
			return x.getShow(ctx, "/balance", func(w io.Writer, b cli.Object) error {
				return cli.Fields(w, cli.Cols("Wallet", "wallet_id", "Available", "available", "Reserved", "reserved", "Total", "total"), b)
			})
		})
}

// pageFlags are --limit and --cursor of a listing.
type pageFlags struct {
	limit  int
	cursor string
}

func (p *pageFlags) add(c *cobra.Command) {
	c.Flags().IntVar(&p.limit, "limit", 0, "at most this many rows (1-100; default: the API's page size)")
	c.Flags().StringVar(&p.cursor, "cursor", "", "the next page: the cursor a previous page printed")
}

// query adds limit and cursor to q.
func (p *pageFlags) query(q url.Values) string {
	if p.limit != 0 {
		q.Set("limit", strconv.Itoa(p.limit))
	}
	if p.cursor != "" {
		q.Set("cursor", p.cursor)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// pageTable prints a page's rows and, when there are more, how to get them.
func pageTable(x *call, cols []cli.Column, list string) func(io.Writer, cli.Object) error {
	return func(w io.Writer, b cli.Object) error {
		if err := cli.Table(w, cols, b.List(list)); err != nil {
			return err
		}
		if next := b.Text("pagination.next_cursor"); b.Field("pagination.has_more") == true && next != "-" {
			fmt.Fprintf(x.err, "more: add --cursor %s\n", next)
		}
		return nil
	}
}

// myWalletID is the wallet of --wallet, else the saved one, else the API's answer.
func myWalletID(ctx context.Context, x *call, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if x.settings.WalletID != "" {
		return x.settings.WalletID, nil
	}
	ans, err := x.api.Get(ctx, "/balance")
	if err != nil {
		return "", fmt.Errorf("find your wallet: %w", err)
	}
	return ans.Body.Text("wallet_id"), nil
}

func walletsCmd() *cobra.Command {
	var wallet string
	var page pageFlags
	tx := &cobra.Command{Use: "transactions", Short: "List a wallet's movements, newest first",
		Long: `List a wallet's movements, newest first: your user wallet, or with --wallet an
app wallet you own (an app's destination_wallet_id).`}
	tx.Flags().StringVar(&wallet, "wallet", "", "the wallet id (default: your user wallet)")
	page.add(tx)
	apiCommand(tx, authUser, func(ctx context.Context, x *call, _ []string) error {
		id, err := myWalletID(ctx, x, wallet)
		if err != nil {
			return err
		}
		return x.getShow(ctx, "/wallets/"+cli.PathEscape(id)+"/transactions"+page.query(url.Values{}),
			pageTable(x, cli.Cols("When", "created_at", "Kind", "kind", "Available", "available_change", "Reserved", "reserved_change",
				"Reference", "reference", "Transaction", "transaction_id"), "transactions"))
	})
	return group("wallets", "Your wallets' movements", groupUser, tx)
}
