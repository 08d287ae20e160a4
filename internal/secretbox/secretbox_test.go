package secretbox

import (
	"bytes"
	"testing"
)

func TestSealOpen_RoundTripBoundToContext(t *testing.T) {
	b, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed := b.Seal([]byte("pi_secret"), "purchase:1")
	if bytes.Contains(sealed, []byte("pi_secret")) {
		t.Fatal("plaintext visible in the ciphertext")
	}
	if got, err := b.Open(sealed, "purchase:1"); err != nil || string(got) != "pi_secret" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := b.Open(sealed, "purchase:2"); err == nil {
		t.Fatal("a ciphertext opened under another context")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}
