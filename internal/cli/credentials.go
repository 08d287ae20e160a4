package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The variables the client commands read (flags win over them, they win over
// the credentials file).
const (
	EnvAPIURL      = "OFFICEX_API_URL"
	EnvUserID      = "OFFICEX_USER_ID"
	EnvAPIKey      = "OFFICEX_API_KEY"
	EnvAdminSecret = "OFFICEX_ADMIN_SECRET"
)

// CredentialsFileMode: the file holds a master key, readable by its owner only.
const CredentialsFileMode fs.FileMode = 0o600

// MaxCredentialsFileBytes bounds the file read (it holds a few short fields).
const MaxCredentialsFileBytes = 64 << 10

// Credentials is what `officex login` saves: where the API is and who you are.
type Credentials struct {
	APIURL   string `json:"api_url"`
	UserID   string `json:"user_id"`
	APIKey   string `json:"api_key"`
	WalletID string `json:"wallet_id,omitempty"`
	Email    string `json:"email,omitempty"`
}

// CredentialsPath is $XDG_CONFIG_HOME/officex/credentials, by default
// ~/.config/officex/credentials.
func CredentialsPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the credentials file: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "officex", "credentials"), nil
}

// LoadCredentials reads the file; a missing file is no error (found false).
// A file others can read is refused, as ssh refuses such a key: the master
// key in it may already have leaked.
func LoadCredentials(path string) (c Credentials, found bool, err error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, false, nil
	}
	if err != nil {
		return Credentials{}, false, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return Credentials{}, false, fmt.Errorf("%s is readable by others (mode %v): run chmod 600 %s, and rotate the key if others may have read it",
			path, info.Mode().Perm(), path)
	}
	if info.Size() > MaxCredentialsFileBytes {
		return Credentials{}, false, fmt.Errorf("%s is over %d bytes: not a credentials file", path, MaxCredentialsFileBytes)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, false, err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Credentials{}, false, fmt.Errorf("%s: %w (remove it and run officex login again)", path, err)
	}
	return c, true, nil
}

// SaveCredentials writes the file with mode 0600 (its folder 0700), through a
// temporary file renamed over the old one so a crash leaves one or the other.
func SaveCredentials(path string, c Credentials) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if err := tmp.Chmod(CredentialsFileMode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Settings are the resolved connection settings of one command run.
type Settings struct {
	APIURL, UserID, APIKey, AdminSecret, WalletID string
	// CredentialsFile is the file's path, for the error messages.
	CredentialsFile string
}

// Resolve merges flags over the environment over the credentials file, field
// by field. The file gives no admin secret: login never writes one.
func Resolve(flags Settings, getenv func(string) string, file Credentials, path string) Settings {
	pick := func(vals ...string) string {
		for _, v := range vals {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
		return ""
	}
	s := Settings{
		APIURL:          pick(flags.APIURL, getenv(EnvAPIURL), file.APIURL),
		UserID:          pick(flags.UserID, getenv(EnvUserID), file.UserID),
		APIKey:          pick(flags.APIKey, getenv(EnvAPIKey), file.APIKey),
		AdminSecret:     pick(flags.AdminSecret, getenv(EnvAdminSecret)),
		CredentialsFile: path,
	}
	// The saved wallet belongs to the saved user only.
	if s.UserID == file.UserID {
		s.WalletID = file.WalletID
	}
	return s
}

// MissingError names the variables a command needs and did not get.
type MissingError struct {
	Command string
	Missing []string // variable names
	Hint    string
}

func (e *MissingError) Error() string {
	names, verb := e.Missing[len(e.Missing)-1], "is"
	if len(e.Missing) > 1 {
		names, verb = strings.Join(e.Missing[:len(e.Missing)-1], ", ")+" and "+names, "are"
	}
	msg := fmt.Sprintf("%s needs %s, which %s not set", e.Command, names, verb)
	if e.Hint != "" {
		msg += "\n" + e.Hint
	}
	return msg
}

// NeedAPI checks the API URL.
func (s Settings) NeedAPI(command string) error {
	if s.APIURL == "" {
		return &MissingError{Command: command, Missing: []string{EnvAPIURL},
			Hint: "Set it (or pass --api-url) to the API's base URL, e.g. http://127.0.0.1:8080 for make dev; officex login saves it."}
	}
	return nil
}

// NeedUser checks the API URL and the master key.
func (s Settings) NeedUser(command string) error {
	missing := unset([2]string{EnvAPIURL, s.APIURL}, [2]string{EnvUserID, s.UserID}, [2]string{EnvAPIKey, s.APIKey})
	if len(missing) == 0 {
		return nil
	}
	return &MissingError{Command: command, Missing: missing,
		Hint: "Run officex login (it saves them in " + s.CredentialsFile + "), set them in the environment, or pass --api-url, --user-id and --api-key."}
}

// NeedAdmin checks the API URL and the admin secret.
func (s Settings) NeedAdmin(command string) error {
	missing := unset([2]string{EnvAPIURL, s.APIURL}, [2]string{EnvAdminSecret, s.AdminSecret})
	if len(missing) == 0 {
		return nil
	}
	return &MissingError{Command: command, Missing: missing,
		Hint: "Finance and operator commands use the API's superadmin secret: set them in the environment or pass --api-url and --admin-secret."}
}

// unset returns the names (first of each pair) whose values are empty.
func unset(vars ...[2]string) []string {
	var names []string
	for _, v := range vars {
		if v[1] == "" {
			names = append(names, v[0])
		}
	}
	return names
}
