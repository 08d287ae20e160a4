package solanatest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// JSON-RPC error codes, as a Solana node answers them.
const (
	codeParse            = -32700
	codeInvalidRequest   = -32600
	codeMethodNotFound   = -32601
	codeInvalidParams    = -32602
	codePreflightFailure = -32002 // "Transaction simulation failed: ..."
	codeSignatureFailure = -32003 // "Transaction signature verification failure"
)

const (
	jsonrpcVersion  = "2.0"
	maxRequestBytes = 1 << 20 // a transaction is at most 1232 bytes; anything near this is abuse
)

type request struct {
	JSONRPC string            `json:"jsonrpc"`
	ID      json.RawMessage   `json:"id"`
	Method  string            `json:"method"`
	Params  []json.RawMessage `json:"params"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// rpcError is a JSON-RPC error; it is also the Go error the handlers return.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

func invalidParams(format string, args ...any) *rpcError {
	return &rpcError{Code: codeInvalidParams, Message: "Invalid params: " + fmt.Sprintf(format, args...)}
}

// preflightFailure is a refusal by simulation; txErr is the transaction
// error a node puts in data.err.
func preflightFailure(reason string, txErr any) *rpcError {
	return &rpcError{
		Code:    codePreflightFailure,
		Message: "Transaction simulation failed: " + reason,
		Data:    map[string]any{"err": txErr, "logs": []string{reason}, "accounts": nil, "unitsConsumed": 0},
	}
}

// ServeHTTP answers one JSON-RPC 2.0 request (no batches: the client sends
// none). Errors are HTTP 200 with an error object, as Solana nodes do.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req request
	resp := response{JSONRPC: jsonrpcVersion, ID: json.RawMessage("null")}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err := dec.Decode(&req); err != nil {
		resp.Error = &rpcError{Code: codeParse, Message: "Parse error"}
	} else {
		if len(req.ID) > 0 {
			resp.ID = req.ID
		}
		resp.Result, resp.Error = s.dispatch(req)
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		s.t.Logf("solanatest: write response: %v", err)
	}
}

func (s *Server) dispatch(req request) (any, *rpcError) {
	if req.JSONRPC != jsonrpcVersion || req.Method == "" {
		return nil, &rpcError{Code: codeInvalidRequest, Message: "Invalid request"}
	}
	handler, ok := map[string]func([]json.RawMessage) (any, *rpcError){
		"getLatestBlockhash":   s.getLatestBlockhash,
		"getBlockHeight":       s.getBlockHeight,
		"getAccountInfo":       s.getAccountInfo,
		"getSignatureStatuses": s.getSignatureStatuses,
		"sendTransaction":      s.sendTransaction,
	}[req.Method]
	if !ok {
		return nil, &rpcError{Code: codeMethodNotFound, Message: "Method not found: " + req.Method}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.perCall)
	return handler(req.Params)
}

// param decodes params[i] into out; a missing optional param is left zero.
func param(params []json.RawMessage, i int, out any, required bool) *rpcError {
	if i >= len(params) {
		if required {
			return invalidParams("missing parameter %d", i)
		}
		return nil
	}
	if err := json.Unmarshal(params[i], out); err != nil {
		return invalidParams("parameter %d: %v", i, err)
	}
	return nil
}
