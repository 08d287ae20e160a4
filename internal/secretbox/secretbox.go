// Package secretbox encrypts the few secrets OfficeX must show again (install
// secrets, agent_context values, Stripe client secrets) with AES-256-GCM under
// OFFICEX_ENCRYPTION_KEY. Secrets that are only ever checked are hashed
// instead (package auth), never stored here.
//
// Keys rotate: a Box holds the current key, which seals, and a keyring of
// old keys (OFFICEX_ENCRYPTION_KEYS), which only open. A ciphertext starts
// with a header naming its key (Magic, then the key id), so opening needs no
// guessing and `officex rotate-encryption-key` can tell what is still under
// an old key. Ciphertexts from before the header (nonce first) still open:
// they are tried under every key.
package secretbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// KeySize is the length of every key: AES-256.
const KeySize = 32

// Magic starts every ciphertext sealed with a key id; KeyIDSize bytes of key
// id follow it, then the nonce and the sealed text.
var Magic = []byte("ofx\x01")

// KeyIDSize is the length of a key id: the first bytes of the key's SHA-256
// under a label, so it names the key without revealing it.
const KeyIDSize = 4

const headerSize = 4 + KeyIDSize

// Box seals with its current key and opens with any key of its keyring.
type Box struct {
	current *key
	keys    []*key // current first
}

type key struct {
	id   [KeyIDSize]byte
	aead cipher.AEAD
}

// New makes a Box whose current key is current; old keys only open what they
// sealed before a rotation.
func New(current []byte, old ...[]byte) (*Box, error) {
	b := &Box{}
	for i, raw := range append([][]byte{current}, old...) {
		k, err := newKey(raw)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %d: %w", i, err)
		}
		if b.find(k.id) != nil {
			continue // the current key listed among the old ones too
		}
		b.keys = append(b.keys, k)
	}
	b.current = b.keys[0]
	return b, nil
}

func newKey(raw []byte) (*key, error) {
	if len(raw) != KeySize {
		return nil, errors.New("key must be 32 bytes")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &key{aead: aead}
	copy(k.id[:], keyIDSum(raw))
	return k, nil
}

func keyIDSum(raw []byte) []byte {
	sum := sha256.Sum256(append([]byte("officex secretbox key id\x00"), raw...))
	return sum[:KeyIDSize]
}

// KeyID names a key in ciphertext headers, logs and payload metadata.
func KeyID(raw []byte) string { return hex.EncodeToString(keyIDSum(raw)) }

// CurrentKeyID is the id of the key Seal uses.
func (b *Box) CurrentKeyID() string { return hex.EncodeToString(b.current.id[:]) }

func (b *Box) find(id [KeyIDSize]byte) *key {
	for _, k := range b.keys {
		if k.id == id {
			return k
		}
	}
	return nil
}

// Seal encrypts plaintext under the current key; context binds the
// ciphertext to where it is stored (e.g. "install:<id>"), so it can't be
// moved to another row.
func (b *Box) Seal(plaintext []byte, context string) []byte {
	k := b.current
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	out := make([]byte, 0, headerSize+len(nonce)+len(plaintext)+k.aead.Overhead())
	out = append(append(append(out, Magic...), k.id[:]...), nonce...)
	return k.aead.Seal(out, nonce, plaintext, []byte(context))
}

// Open decrypts what Seal made with the same context, under whichever key of
// the keyring sealed it.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	if id, body, ok := splitHeader(sealed); ok {
		if k := b.find(id); k != nil {
			if out, err := open(k, body, context); err == nil {
				return out, nil
			}
		}
	}
	// No header (sealed before key ids), or a legacy nonce that happens to
	// start like one: try every key.
	for _, k := range b.keys {
		if out, err := open(k, sealed, context); err == nil {
			return out, nil
		}
	}
	if id, _, ok := splitHeader(sealed); ok && b.find(id) == nil {
		return nil, fmt.Errorf("secretbox: sealed under key %x, which is not in the keyring (OFFICEX_ENCRYPTION_KEY / OFFICEX_ENCRYPTION_KEYS)", id)
	}
	return nil, errors.New("secretbox: message authentication failed")
}

func open(k *key, body []byte, context string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(body) < n+k.aead.Overhead() {
		return nil, errors.New("secretbox: ciphertext too short")
	}
	return k.aead.Open(nil, body[:n], body[n:], []byte(context))
}

func splitHeader(sealed []byte) (id [KeyIDSize]byte, body []byte, ok bool) {
	if len(sealed) < headerSize || !bytes.Equal(sealed[:len(Magic)], Magic) {
		return id, nil, false
	}
	copy(id[:], sealed[len(Magic):headerSize])
	return id, sealed[headerSize:], true
}

// IsCurrent says whether sealed carries the current key's id, so a rotation
// can skip it without decrypting.
func (b *Box) IsCurrent(sealed []byte) bool {
	id, _, ok := splitHeader(sealed)
	return ok && id == b.current.id
}

// Reseal opens sealed and seals it again under the current key; changed is
// false (and sealed is returned) when it already was under the current key.
func (b *Box) Reseal(sealed []byte, context string) (out []byte, changed bool, err error) {
	if b.IsCurrent(sealed) {
		if _, err := b.Open(sealed, context); err == nil {
			return sealed, false, nil
		}
	}
	plain, err := b.Open(sealed, context)
	if err != nil {
		return nil, false, err
	}
	return b.Seal(plain, context), true, nil
}
