package api

import (
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/uploads"
)

// uploadReadTimeout replaces the server's ReadTimeout for a local upload PUT:
// 25 MiB over a slow uplink takes minutes, not the 30 s a JSON body gets.
const uploadReadTimeout = 10 * time.Minute

var errUploadsOff = &Error{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "uploads are not configured"}

type presignRequest struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        *int64 `json:"size"`
}

// presignUpload is POST /uploads/presign: a fresh key under the caller's
// user id and the URLs to PUT the bytes to and GET them back.
func (s *Server) presignUpload(w http.ResponseWriter, r *http.Request) error {
	if s.uploads == nil {
		return errUploadsOff
	}
	var in presignRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	obj, err := uploads.NewObject(currentUser(r).ID, in.Filename, in.ContentType, in.Size, s.uploads.MaxBytes())
	if err != nil {
		return err
	}
	p, err := s.uploads.Presign(r.Context(), obj, requestOrigin(r))
	if err != nil {
		return err
	}
	ok(w, map[string]any{"presigned_url": p.URL, "key": obj.Key, "expires_at": p.ExpiresAt, "method": p.Method,
		"headers": p.Headers, "download_url": p.DownloadURL})
	return nil
}

// requestOrigin is the scheme and host the request came in on. Forwarded
// headers are not trusted: behind a proxy, set OFFICEX_PUBLIC_URL.
func requestOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// putUploadFile is the local store's signed PUT: the signature is the only
// credential, and the body is capped by the URL's grant, not MaxBodyBytes.
func (s *Server) putUploadFile(w http.ResponseWriter, r *http.Request) error {
	if s.localUploads == nil {
		return errNotFound
	}
	key := mux.Vars(r)["key"]
	grant, err := s.localUploads.Verify(http.MethodPut, key, r.Header.Get("Content-Type"), r.URL.Query())
	if err != nil {
		return err
	}
	if r.ContentLength > grant.Limit {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "INVALID_REQUEST",
			Message: "upload exceeds " + strconv.FormatInt(grant.Limit, 10) + " bytes"}
	}
	// Not supported only under a test recorder; the server's timeout then stays.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadReadTimeout))
	n, err := s.localUploads.Write(key, http.MaxBytesReader(w, r.Body, grant.Limit), grant)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"key": key, "size": n})
	return nil
}

// getUploadFile is the local store's signed GET. The file is served as the
// signed content type (one of the allow-list), never sniffed, and as an
// attachment, so nothing uploaded runs in the API's origin.
func (s *Server) getUploadFile(w http.ResponseWriter, r *http.Request) error {
	if s.localUploads == nil {
		return errNotFound
	}
	key := mux.Vars(r)["key"]
	contentType := r.URL.Query().Get("content_type")
	if _, err := s.localUploads.Verify(http.MethodGet, key, contentType, r.URL.Query()); err != nil {
		return err
	}
	f, err := s.localUploads.Open(key)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	_, name, _ := uploads.ParseKey(key)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if disposition == "" {
		disposition = "attachment"
	}
	w.Header().Set("Content-Disposition", disposition)
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, name, info.ModTime(), f)
	return nil
}
