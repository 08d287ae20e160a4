package secretbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"strings"
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

// legacySeal is the format before key ids: nonce, then the sealed text.
func legacySeal(t *testing.T, key []byte, plaintext, context string) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
}

func TestKeyring_RotatesAndStillOpensOldAndLegacyCiphertexts(t *testing.T) {
	keyA, keyB := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	underA, _ := New(keyA)
	sealedA := underA.Seal([]byte("secret-a"), "row:1")
	if !bytes.HasPrefix(sealedA, append(append([]byte{}, Magic...), keyIDSum(keyA)...)) {
		t.Fatalf("ciphertext does not start with the magic and key A's id: %x", sealedA[:8])
	}
	legacy := legacySeal(t, keyA, "secret-legacy", "row:2")

	rotated, err := New(keyB, keyA)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.CurrentKeyID() != KeyID(keyB) {
		t.Fatalf("current key id %s, want key B's %s", rotated.CurrentKeyID(), KeyID(keyB))
	}
	for sealed, want := range map[string]string{string(sealedA): "secret-a", string(legacy): "secret-legacy"} {
		ctx := "row:1"
		if want == "secret-legacy" {
			ctx = "row:2"
		}
		if rotated.IsCurrent([]byte(sealed)) {
			t.Fatalf("%s counted as under the current key", want)
		}
		out, changed, err := rotated.Reseal([]byte(sealed), ctx)
		if err != nil || !changed || !rotated.IsCurrent(out) {
			t.Fatalf("reseal %s: changed=%v current=%v err=%v", want, changed, rotated.IsCurrent(out), err)
		}
		again, changed, err := rotated.Reseal(out, ctx)
		if err != nil || changed || !bytes.Equal(again, out) {
			t.Fatalf("resealing a current ciphertext changed it (changed=%v err=%v)", changed, err)
		}
		onlyB, _ := New(keyB)
		if got, err := onlyB.Open(out, ctx); err != nil || string(got) != want {
			t.Fatalf("open under B alone: %q %v", got, err)
		}
		if _, err := onlyB.Open([]byte(sealed), ctx); err == nil {
			t.Fatalf("%s under key A opened without key A", want)
		}
	}
	onlyB, _ := New(keyB)
	if _, err := onlyB.Open(sealedA, "row:1"); err == nil || !strings.Contains(err.Error(), KeyID(keyA)) {
		t.Fatalf("opening under a removed key should name that key's id %s: %v", KeyID(keyA), err)
	}
	if _, err := New(keyB, []byte("short")); err == nil {
		t.Fatal("a short old key was accepted")
	}
}
