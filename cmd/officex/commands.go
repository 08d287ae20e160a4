package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/officex/officex/internal/cli"
	"github.com/officex/officex/internal/config"
)

// The groups of `officex --help`.
const (
	groupServer = "server"
	groupUser   = "user"
	groupAdmin  = "admin"
)

// commands is every top-level command. Adding one is one constructor (a
// serverCommand or an apiCommand, in a file of its own) and one line here.
func commands() []*cobra.Command {
	return []*cobra.Command{
		// server processes and operator tools on the server's environment
		serveCmd(), workerCmd(), devCmd(), migrateCmd(), codecServerCmd(), rotateEncryptionKeyCmd(),
		// people, over the API with a master key
		loginCmd(), meCmd(), balanceCmd(), walletsCmd(), appsCmd(), installsCmd(), vouchersCmd(),
		// finance and operators, over the API with the admin secret
		payoutsCmd(), treasuryCmd(), reconcileCmd(),
		versionCmd(),
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "officex",
		Short: "OfficeX: the API server, its worker, and a command line client of the API",
		Long: `officex is OfficeX's one binary.

Server commands (serve, worker, dev, migrate) read the server's configuration from
the environment (README, "Configuration"); make dev sets it up for you.

Client commands call a running API over HTTP, like any app: set OFFICEX_API_URL
(e.g. http://127.0.0.1:8080) and run "officex login" once; finance and operator
commands use the API's admin secret (OFFICEX_ADMIN_SECRET) instead.

Every command's help says what it needs; "officex help <command>" works anywhere,
with no configuration at all.`,
		Version:       versionString(),
		SilenceErrors: true, // main prints them once, in plain text
		SilenceUsage:  true,
	}
	root.AddGroup(
		&cobra.Group{ID: groupServer, Title: "Server commands (read the server's environment):"},
		&cobra.Group{ID: groupUser, Title: "Your account and apps (API, master key):"},
		&cobra.Group{ID: groupAdmin, Title: "Finance and operators (API, admin secret):"},
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	root.AddCommand(commands()...)
	return root
}

// Exit codes: 2 for a command line or configuration to fix, 1 for a failure.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a command line the person must fix.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// errReported: the failure is already logged (as JSON, by a server process).
var errReported = errors.New("reported")

// exitCode prints err in plain text (unless already logged) and says how to exit.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if msg := err.Error(); !errors.Is(err, errReported) {
		if !strings.HasPrefix(msg, "officex") {
			msg = "officex: " + msg
		}
		fmt.Fprintln(stderr, msg)
	}
	var missing *cli.MissingError
	var usage usageError
	var cfg configError
	switch {
	case errors.As(err, &missing), errors.As(err, &usage), errors.As(err, &cfg):
		return exitUsage
	case strings.HasPrefix(err.Error(), "unknown command"):
		return exitUsage
	}
	return exitFailure
}

// args is cobra.ExactArgs with the names of the arguments in its message.
func args(names ...string) cobra.PositionalArgs {
	return func(c *cobra.Command, got []string) error {
		if len(got) != len(names) {
			return usageError{fmt.Errorf("%s takes %s (got %d arguments)\nRun '%s --help' for usage.",
				c.CommandPath(), strings.Join(names, " "), len(got), c.CommandPath())}
		}
		return nil
	}
}

// ---------------------------------------------------------------- server commands

// serverEnvHelp ends the help of every command that reads the server configuration.
const serverEnvHelp = `

Environment: the server configuration (README, "Configuration"). Required:
OFFICEX_ENCRYPTION_KEY (base64 of 32 bytes), and SMTP_URL unless
OFFICEX_TESTING_MODE=true. Read with defaults: DATABASE_URL, TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_TLS*, TEMPORAL_API_KEY, OFFICEX_TASK_QUEUE, OFFICEX_HTTP_ADDR, OFFICEX_CHAT_ADDR, OFFICEX_METRICS_ADDR,
OFFICEX_ADMIN_SECRET, STRIPE_*, SOLANA_*, USDC_MINT, OPENAI_*, S3_*, OFFICEX_UPLOAD_*.`

// configError is a server configuration to fix; its text names the variables.
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }

// loadConfig reads the server configuration for command, in plain text on error.
func loadConfig(command string) (config.Config, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		indented := "  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")
		return cfg, configError{fmt.Errorf("%s: configuration:\n%s", command, indented)}
	}
	return cfg, nil
}

// serverCommand fills c in as a command on the server's configuration. A
// long-running one (a process: serve, worker, dev) logs JSON for its whole
// life, its final error included; the others log warnings only, in text, and
// fail with a plain message. Configuration errors are plain text for both.
func serverCommand(c *cobra.Command, longRunning bool, run func(ctx context.Context, cfg config.Config, log *slog.Logger) error) *cobra.Command {
	c.GroupID = groupServer
	c.Long = longOr(c) + serverEnvHelp
	if c.Args == nil {
		c.Args = args()
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig("officex " + c.Name())
		if err != nil {
			return err
		}
		if !longRunning {
			return run(cmd.Context(), cfg, slogWarn())
		}
		log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
		slog.SetDefault(log)
		if err := run(cmd.Context(), cfg, log); err != nil {
			log.Error("officex failed", "command", c.Name(), "error", err.Error())
			return errReported
		}
		return nil
	}
	return c
}

// slogWarn is the logger of short commands: warnings only, as text.
func slogWarn() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// longOr is the command's long help, or its short one.
func longOr(c *cobra.Command) string {
	if c.Long == "" {
		return c.Short + "."
	}
	return strings.TrimSpace(c.Long)
}

// ---------------------------------------------------------------- API commands

// authKind is how an API command authenticates.
type authKind int

const (
	authNone  authKind = iota // the auth routes: login
	authUser                  // master key
	authAdmin                 // superadmin secret
)

var authHelp = map[authKind]string{
	authNone: `

Environment: OFFICEX_API_URL (or --api-url), the API's base URL.`,
	authUser: `

Environment: OFFICEX_API_URL, OFFICEX_USER_ID and OFFICEX_API_KEY, each from its
flag, the environment, or the credentials file "officex login" writes
(~/.config/officex/credentials, mode 0600), in that order.`,
	authAdmin: `

Environment: OFFICEX_API_URL and OFFICEX_ADMIN_SECRET (the API's superadmin
secret), from the flags or the environment.`,
}

// call is one run of an API command: its client, settings and output.
type call struct {
	api      *cli.Client
	settings cli.Settings
	json     bool
	out, err io.Writer
}

// show prints the answer: the API's JSON with --json, else render's view.
func (x *call) show(a cli.Answer, render func(w io.Writer, body cli.Object) error) error {
	if x.json {
		return cli.JSON(x.out, a.Raw)
	}
	return render(x.out, a.Body)
}

// getShow GETs path and shows the answer with render.
func (x *call) getShow(ctx context.Context, path string, render func(w io.Writer, body cli.Object) error) error {
	ans, err := x.api.Get(ctx, path)
	if err != nil {
		return err
	}
	return x.show(ans, render)
}

// apiFlags are the connection flags of an API command.
type apiFlags struct {
	settings cli.Settings
	json     bool
}

func (f *apiFlags) add(c *cobra.Command, auth authKind) {
	fs := c.Flags()
	fs.StringVar(&f.settings.APIURL, "api-url", "", "the API's base URL (default $OFFICEX_API_URL)")
	switch auth {
	case authUser:
		fs.StringVar(&f.settings.UserID, "user-id", "", "your user id (default $OFFICEX_USER_ID)")
		fs.StringVar(&f.settings.APIKey, "api-key", "", "your master key (default $OFFICEX_API_KEY; a flag is visible to other local users in ps)")
	case authAdmin:
		fs.StringVar(&f.settings.AdminSecret, "admin-secret", "", "the superadmin secret (default $OFFICEX_ADMIN_SECRET; a flag is visible in ps)")
	}
	fs.BoolVar(&f.json, "json", false, "print the API's JSON answer (for scripts) instead of a table")
}

// resolve merges the flags, the environment and (for user commands) the
// credentials file, and checks that what auth needs is there.
func (f *apiFlags) resolve(command string, auth authKind) (cli.Settings, error) {
	path, err := cli.CredentialsPath()
	if err != nil && auth == authUser {
		return cli.Settings{}, err
	}
	var file cli.Credentials
	if auth != authAdmin && path != "" {
		// login replaces the file (with mode 0600), so a bad one does not stop it.
		if file, _, err = cli.LoadCredentials(path); err != nil && auth == authUser {
			return cli.Settings{}, err
		}
	}
	s := cli.Resolve(f.settings, os.Getenv, file, path)
	switch auth {
	case authUser:
		err = s.NeedUser(command)
	case authAdmin:
		err = s.NeedAdmin(command)
	default:
		err = s.NeedAPI(command)
	}
	return s, err
}

// call builds the call of one run.
func (f *apiFlags) call(c *cobra.Command, auth authKind) (*call, error) {
	s, err := f.resolve(c.CommandPath(), auth)
	if err != nil {
		return nil, err
	}
	a := cli.Auth{}
	switch auth {
	case authUser:
		a.UserID, a.APIKey = s.UserID, s.APIKey
	case authAdmin:
		a.AdminSecret = s.AdminSecret
	}
	client, err := cli.NewClient(s.APIURL, a)
	if err != nil {
		return nil, usageError{err}
	}
	return &call{api: client, settings: s, json: f.json, out: c.OutOrStdout(), err: c.ErrOrStderr()}, nil
}

// apiCommand fills c in as a command that calls the API with auth; run gets
// the call and the arguments.
func apiCommand(c *cobra.Command, auth authKind, run func(ctx context.Context, x *call, args []string) error) *cobra.Command {
	var f apiFlags
	f.add(c, auth)
	c.Long = longOr(c) + authHelp[auth]
	if c.Args == nil {
		c.Args = args()
	}
	c.RunE = func(cmd *cobra.Command, a []string) error {
		x, err := f.call(cmd, auth)
		if err != nil {
			return err
		}
		return run(cmd.Context(), x, a)
	}
	return c
}

// group is a parent command (apps, payouts, ...) that only holds others.
func group(use, short, groupID string, children ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, GroupID: groupID, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, a []string) error { return cmd.Help() }}
	c.AddCommand(children...)
	return c
}
