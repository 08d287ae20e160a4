package uploads

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// defaultS3Region signs requests when neither S3_REGION nor the AWS
// configuration names a region (S3-compatible stores mostly ignore it).
const defaultS3Region = "us-east-1"

// S3Options configure the S3 store.
type S3Options struct {
	Bucket   string // S3_BUCKET
	Endpoint string // S3_ENDPOINT; "": AWS. Set: path-style addressing
	Region   string // S3_REGION; "": the AWS configuration's, else us-east-1
	MaxBytes int64  // OFFICEX_UPLOAD_MAX_BYTES
}

// S3 hands out presigned URLs of a bucket; the bytes never pass through
// OfficeX. Credentials come from the AWS default chain (environment, shared
// files, instance or task role).
//
// The size cap holds when the caller declares size: the PUT URL then signs
// Content-Length and S3 refuses any other length. Without a declared size a
// presigned PUT cannot be capped (only S3's own 5 GiB single-PUT limit holds).
type S3 struct {
	client   *s3.Client
	presign  *s3.PresignClient
	bucket   string
	maxBytes int64
}

// NewS3 loads the AWS configuration and builds the store.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.Bucket == "" || o.MaxBytes < 1 {
		return nil, errors.New("S3 upload store: a bucket and a positive size cap are required")
	}
	opts := []func(*awsconfig.LoadOptions) error{
		// Checksums are computed over a body; a presigned URL has none yet.
		awsconfig.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
	}
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
	})
	return &S3{client: client, presign: s3.NewPresignClient(client), bucket: o.Bucket, maxBytes: o.MaxBytes}, nil
}

// Client is the store's S3 client.
func (s *S3) Client() *s3.Client { return s.client }

// Bucket is S3_BUCKET.
func (s *S3) Bucket() string { return s.bucket }

// MaxBytes is OFFICEX_UPLOAD_MAX_BYTES.
func (s *S3) MaxBytes() int64 { return s.maxBytes }

// Presign signs a PutObject (content type, and length when declared) and a
// GetObject of the key; origin is not used, S3 URLs are the bucket's.
func (s *S3) Presign(ctx context.Context, obj Object, _ string) (Presigned, error) {
	if _, _, err := ParseKey(obj.Key); err != nil {
		return Presigned{}, fmt.Errorf("presign %q: %w", obj.Key, err)
	}
	// Taken before signing, so the answer never claims more time than S3 allows.
	expiresAt := time.Now().Add(PresignLifetime).Truncate(time.Second).UTC()
	in := &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(obj.Key), ContentType: aws.String(obj.ContentType)}
	if obj.Size > 0 {
		in.ContentLength = aws.Int64(obj.Size)
	}
	put, err := s.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(PresignLifetime))
	if err != nil {
		return Presigned{}, fmt.Errorf("presign S3 PUT %s: %w", obj.Key, err)
	}
	get, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(obj.Key)},
		s3.WithPresignExpires(PresignLifetime))
	if err != nil {
		return Presigned{}, fmt.Errorf("presign S3 GET %s: %w", obj.Key, err)
	}
	// The client sends every signed header but Host and Content-Length, which
	// its HTTP library sets from the URL and the body.
	headers := map[string]string{}
	for name, values := range put.SignedHeader {
		name = http.CanonicalHeaderKey(name)
		if len(values) > 0 && name != "Host" && name != "Content-Length" {
			headers[name] = values[0]
		}
	}
	return Presigned{URL: put.URL, Method: http.MethodPut, Headers: headers, DownloadURL: get.URL, ExpiresAt: expiresAt}, nil
}
