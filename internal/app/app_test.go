package app_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/testenv"
)

// env is the stack testenv builds with app.New on a testing configuration:
// its worker, relays and services are the App's.
var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runApp runs the App as "officex serve" does (App.Run: API, chat and
// metrics listeners) on free ports until the test ends; it returns the
// API's URL once /healthz and /metrics answer.
func runApp(t *testing.T) string {
	t.Helper()
	a := *env.App
	a.Config.HTTPAddr, a.Config.ChatAddr, a.Config.MetricsAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx, true, false) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("App.Run: %v", err)
		}
	})
	base := "http://" + a.Config.HTTPAddr
	for _, u := range []string{base + "/healthz", "http://" + a.Config.MetricsAddr + "/metrics"} {
		testenv.Eventually(t, 10*time.Second, "the App to answer "+u, func() bool { return answers200(u) })
	}
	return base
}

func answers200(u string) bool {
	resp, err := http.Get(u)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestApp_ServesEndToEndAndUninstallCancelsOpenReservations (issue 12
// point 13): the App main runs serves a whole flow over its own listener
// (sign-up, app, install, funding, reserve through the App's outbox relay
// and worker), and an uninstall through the App's apps service cancels the
// install's open reservation and gives the user the reserved credits back:
// billing is wired into uninstalls by the constructor, not by a caller.
func TestApp_ServesEndToEndAndUninstallCancelsOpenReservations(t *testing.T) {
	base := runApp(t)
	c := env.ClientFor(t, base)
	vendor, user := c.NewUser(), c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{})
	in := c.Install(user, a.ID, nil)
	c.Fund(user.WalletID, "10")
	c.Post("/reserve", map[string]any{"amount": 4, "job_id": "open", "timeout_seconds": 600}, in.Headers()).Expect(t, 200, "")
	if avail, reserved := c.Balance(user); avail != 6 || reserved != 4 {
		t.Fatalf("after the reserve: available %v, reserved %v; want 6 and 4", avail, reserved)
	}

	c.Do(http.MethodDelete, "/users/me/installs/"+in.ID, nil, user.Headers()).Expect(t, 200, "")

	if avail, reserved := c.Balance(user); avail != 10 || reserved != 0 {
		t.Fatalf("after the uninstall: available %v, reserved %v; want the 4 reserved credits back", avail, reserved)
	}
	var status string
	err := env.Pool.QueryRow(context.Background(),
		`SELECT status FROM reservations WHERE install_id = $1 AND job_id = 'open'`, in.ID).Scan(&status)
	if err != nil {
		t.Fatal(err)
	}
	if status != "cancelled" {
		t.Fatalf("reservation status %q after the uninstall, want cancelled", status)
	}
}

// TestAppsNew_RequiresBilling: an apps service without billing would leave
// an uninstalled install's reservations holding the user's credits.
func TestAppsNew_RequiresBilling(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("apps.New without billing did not refuse")
		}
	}()
	apps.New(env.Pool, env.Temporal, env.Box, nil, env.AppsOptions())
}
