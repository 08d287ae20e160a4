// Package cli is the client half of the officex command: a small HTTP client
// of the public API (api/openapi.yaml), the credentials file that `officex
// login` writes, and the table and JSON output people and scripts read. It
// talks to the API only: it never opens the database, so what it shows is what
// any app sees.
//
// Answers are decoded with json.Number, so an amount printed is the API's own
// decimal text: money never passes through float64 here.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RequestTimeout bounds one API call. It is above the 30 s the API waits for a
// payout batch before answering 202, so that call is not cut short.
const RequestTimeout = 60 * time.Second

// MaxAnswerBytes bounds an answer read into memory (the API's largest pages
// are far below it).
const MaxAnswerBytes = 16 << 20

// Auth is how a request authenticates: the master key, the admin secret, or
// nothing (the auth routes).
type Auth struct {
	UserID, APIKey string // master key
	AdminSecret    string // x-officex-admin-secret
}

// Client calls one OfficeX API base URL (with or without the /v1 suffix).
type Client struct {
	base string // ends in /v1
	auth Auth
	http *http.Client
}

// NewClient checks baseURL and returns a client of it.
func NewClient(baseURL string, auth Auth) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("OFFICEX_API_URL=%q: want an http(s) URL such as http://127.0.0.1:8080", baseURL)
	}
	base := u.String()
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	return &Client{base: base, auth: auth, http: &http.Client{Timeout: RequestTimeout}}, nil
}

// APIError is the API's error envelope: {"success": false, "error": {code, message}}.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("the API answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// Answer is a decoded 2xx answer: the object, its raw bytes for --json, and
// the status (200, 201 or 202).
type Answer struct {
	Status int
	Body   Object
	Raw    []byte
}

// Do sends method path (relative to /v1, query included) with body (nil, or
// a value marshalled to JSON) and decodes the answer. Non-2xx answers are
// *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body any) (Answer, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return Answer{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return Answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	c.authenticate(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if len(raw) > MaxAnswerBytes {
		return Answer{}, fmt.Errorf("%s %s: the answer is over %d bytes", method, path, MaxAnswerBytes)
	}
	obj, decodeErr := decodeObject(raw)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Answer{}, apiError(resp.StatusCode, obj)
	}
	if decodeErr != nil {
		return Answer{}, fmt.Errorf("%s %s: the answer is not a JSON object: %w", method, path, decodeErr)
	}
	return Answer{Status: resp.StatusCode, Body: obj, Raw: raw}, nil
}

// Get is Do with GET and no body.
func (c *Client) Get(ctx context.Context, path string) (Answer, error) {
	return c.Do(ctx, http.MethodGet, path, nil)
}

// Post is Do with POST.
func (c *Client) Post(ctx context.Context, path string, body any) (Answer, error) {
	return c.Do(ctx, http.MethodPost, path, body)
}

func (c *Client) authenticate(req *http.Request) {
	if c.auth.AdminSecret != "" {
		req.Header.Set("x-officex-admin-secret", c.auth.AdminSecret)
	}
	if c.auth.UserID != "" {
		req.Header.Set("x-officex-user-id", c.auth.UserID)
		req.Header.Set("x-officex-master-key", c.auth.APIKey)
	}
}

func apiError(status int, obj Object) error {
	e := &APIError{Status: status}
	if inner, ok := obj["error"].(map[string]any); ok {
		e.Code, _ = inner["code"].(string)
		e.Message, _ = inner["message"].(string)
	}
	return e
}

// decodeObject decodes a JSON object keeping numbers as json.Number.
func decodeObject(raw []byte) (Object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errors.New("null")
	}
	return obj, nil
}

// PathEscape escapes one path segment (an id or a voucher code typed by a person).
func PathEscape(s string) string { return url.PathEscape(s) }
