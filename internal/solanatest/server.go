package solanatest

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gagliardetto/solana-go"
)

// Chain parameters, Solana's own values.
const (
	// BlockhashValidity: a blockhash can be used until the block height has
	// grown by this much (MAX_PROCESSING_AGE).
	BlockhashValidity = 150
	// FinalityDepth: blocks after which a landed transaction is reported
	// finalized (about a root's distance behind the tip).
	FinalityDepth = 32
	// StatusCacheBlocks: without searchTransactionHistory a node only
	// answers from its recent status cache, which holds about this many
	// blocks of signatures.
	StatusCacheBlocks = 300
	// MaxStatusSignatures is getSignatureStatuses' limit per call.
	MaxStatusSignatures = 256
	// MaxTransactionBytes is PACKET_DATA_SIZE, the largest transaction a
	// node accepts.
	MaxTransactionBytes = 1232
	// TokenAccountRent is the rent-exempt balance of a 165-byte token
	// account, reported as its lamports.
	TokenAccountRent = 2_039_280
	// startHeight is the first block height, far from 0 so that
	// off-by-one errors around "height - something" show.
	startHeight = 1_000
)

// Transfer is a TransferChecked that landed without error.
type Transfer struct {
	Signature  string
	From       solana.PublicKey // source token account
	FromOwner  solana.PublicKey
	To         solana.PublicKey // destination token account
	ToOwner    solana.PublicKey
	Amount     uint64 // base units
	CreatedATA bool   // the transaction carried a create-ATA instruction
	Memo       string
	Slot       uint64
}

// Server is a fake Solana RPC node. Its methods are safe for concurrent use.
type Server struct {
	t    testing.TB
	mint solana.PublicKey
	http *httptest.Server

	mu        sync.Mutex
	height    uint64
	perCall   uint64                        // blocks added before each request
	issued    map[solana.Hash]uint64        // blockhash -> last valid block height
	accounts  map[solana.PublicKey]*account // token accounts by address
	txs       map[solana.Signature]*txRecord
	queue     []*txRecord // accepted, landing later (DelayNext)
	transfers []Transfer
	sent      int
	rejected  []string
	dropNext  int
	failNext  int
	delays    []uint64 // one entry per next transaction to delay
}

// account is an SPL token account of the configured mint.
type account struct {
	owner  solana.PublicKey
	amount uint64
}

// New starts a fake node for the USDC mint and closes it when t ends.
func New(t testing.TB, mint solana.PublicKey) *Server {
	t.Helper()
	s := &Server{
		t:        t,
		mint:     mint,
		height:   startHeight,
		issued:   map[solana.Hash]uint64{},
		accounts: map[solana.PublicKey]*account{},
		txs:      map[solana.Signature]*txRecord{},
	}
	s.http = httptest.NewServer(s)
	t.Cleanup(s.http.Close)
	return s
}

// URL is the RPC endpoint.
func (s *Server) URL() string { return s.http.URL }

// Mint is the USDC mint the server accepts.
func (s *Server) Mint() solana.PublicKey { return s.mint }

// Height is the current block height.
func (s *Server) Height() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.height
}

// Advance adds n blocks, landing delayed transactions that are due.
func (s *Server) Advance(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(n)
}

// AdvancePerCall makes every later RPC request add n blocks first.
func (s *Server) AdvancePerCall(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perCall = n
}

// Fund credits owner's associated token account with amount, opening it if
// needed (Fund(owner, 0) just opens it), and returns its address.
func (s *Server) Fund(owner solana.PublicKey, amount uint64) solana.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	ata := s.ata(owner)
	acc := s.accounts[ata]
	if acc == nil {
		acc = &account{owner: owner}
		s.accounts[ata] = acc
	}
	acc.amount += amount
	return ata
}

// Balance is owner's associated token account balance (0 if it has none).
func (s *Server) Balance(owner solana.PublicKey) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if acc := s.accounts[s.ata(owner)]; acc != nil {
		return acc.amount
	}
	return 0
}

// HasATA reports whether owner's associated token account exists.
func (s *Server) HasATA(owner solana.PublicKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[s.ata(owner)] != nil
}

// DropNext makes the next n accepted transactions never land.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropNext += n
}

// FailNext makes the next n accepted transactions land with an on-chain
// error (token InsufficientFunds), transferring nothing.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext += n
}

// DelayNext makes the next n accepted transactions land blocks later; one
// whose blockhash has expired by then never lands.
func (s *Server) DelayNext(n int, blocks uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.delays = append(s.delays, blocks)
	}
}

// Transfers lists the transfers that landed without error, in order.
func (s *Server) Transfers() []Transfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Transfer(nil), s.transfers...)
}

// Sent counts sendTransaction requests, refused and repeated ones included.
func (s *Server) Sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// Rejected lists why sendTransaction requests were refused, in order.
func (s *Server) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

// ata derives owner's associated token account for the mint.
func (s *Server) ata(owner solana.PublicKey) solana.PublicKey {
	addr, _, err := solana.FindAssociatedTokenAddress(owner, s.mint)
	if err != nil { // no bump seed works: practically never
		panic("solanatest: derive ATA of " + owner.String() + ": " + err.Error())
	}
	return addr
}

// blockhashAt is the blockhash of height: deterministic, distinct per height.
func blockhashAt(height uint64) solana.Hash {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], height)
	return solana.Hash(sha256.Sum256(append([]byte("solanatest blockhash "), b[:]...)))
}
