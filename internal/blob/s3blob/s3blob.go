// Package s3blob is the blob store for any S3-compatible object store
// (AWS S3, MinIO, versitygw, …), used in scale-out deployments.
//
// S3 makes an object visible only when its upload completes, which gives the
// all-or-nothing Put the blob contract requires; a failed multipart upload is
// aborted. Objects are ciphertext already (package sealed), so server-side
// encryption is optional defence in depth, not the control.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/fault"
)

// Config locates a bucket.
type Config struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	Prefix    string // optional key prefix inside the bucket, e.g. "obscura/"
	TLS       bool
	// Create makes the bucket if it does not exist.
	Create bool
}

// Store is an S3 bucket.
type Store struct {
	c      *minio.Client
	bucket string
	prefix string
}

var _ blob.Store = (*Store)(nil)

// PartSize is the multipart upload part size used for streams of unknown length.
const PartSize = 16 << 20

// Open connects to the bucket and checks it exists (or creates it).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.TLS,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "bad S3 configuration", err)
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "S3 unavailable", err)
	}
	if !ok {
		if !cfg.Create {
			return nil, fault.New(fault.NotFound, fmt.Sprintf("S3 bucket %s does not exist", cfg.Bucket))
		}
		if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			return nil, fault.Wrap(fault.Unavailable, "cannot create S3 bucket", err)
		}
	}
	if cfg.Prefix != "" {
		if err := blob.ValidPrefix(cfg.Prefix); err != nil {
			return nil, err
		}
	}
	return &Store{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix}, nil
}

func classify(err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound:
		return fault.New(fault.NotFound, "blob not found")
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		return fault.Wrap(fault.Unavailable, "S3 unavailable", err)
	}
}

// Put implements blob.Putter.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	if err := blob.ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := s.c.PutObject(ctx, s.bucket, s.prefix+key, blob.ContextReader(ctx, r), -1, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		PartSize:    PartSize,
	})
	if err != nil {
		return fmt.Errorf("put blob: %w", classify(err))
	}
	return nil
}

// Get implements blob.Getter.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := blob.ValidKey(key); err != nil {
		return nil, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, classify(err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, classify(err)
	}
	return object{obj, info.Size}, nil
}

// Delete implements blob.Deleter.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.ValidKey(key); err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		if err := classify(err); fault.KindOf(err) == fault.NotFound {
			return nil
		}
		return classify(err)
	}
	return nil
}

// List implements blob.Lister.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string) error) error {
	if err := blob.ValidPrefix(prefix); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if obj.Err != nil {
			return classify(obj.Err)
		}
		if err := fn(obj.Key[len(s.prefix):]); err != nil {
			return err
		}
	}
	return nil
}

// object is an open S3 object that knows its size.
type object struct {
	*minio.Object
	size int64
}

// Size implements blob.Sizer.
func (o object) Size() int64 { return o.size }
