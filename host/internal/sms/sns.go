package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/smsplus/smsplus/sdk/phone"
)

// SNSConfig holds the Amazon SNS sender's settings. SNS posts no delivery
// receipt over HTTP for SMS (it writes delivery status to CloudWatch Logs when
// the account's SMS delivery status logging is on), so SNS reads no receipts:
// a message sent through SNS is never re-sent for being undelivered.
type SNSConfig struct {
	// Region is the AWS region that sends, e.g. eu-west-1; required (SMS is
	// not offered in every region).
	Region string
	// AccessKeyID and SecretAccessKey are an IAM user's key, allowed
	// sns:Publish; SessionToken goes with temporary keys. All empty: the
	// SDK's default chain (environment, shared files, web identity, ECS or EC2
	// role). The secret is never logged nor put in an error.
	AccessKeyID, SecretAccessKey, SessionToken string
	// SMSType is AWS.SNS.SMS.SMSType: Transactional (the default: the one-time
	// link must arrive, whatever it costs) or Promotional.
	SMSType string
	// SenderID is the default alphanumeric sender ID (AWS.SNS.SMS.SenderID),
	// where the destination country allows one; optional.
	SenderID string
	// OriginationNumber is the default sending number, E.164
	// (AWS.MM.SMS.OriginationNumber); optional. A message's From replaces
	// both: an E.164 From is an origination number, any other a sender ID.
	OriginationNumber string
	// MaxPrice is AWS.SNS.SMS.MaxPrice, the most to spend on one message in
	// USD (e.g. "0.50"); empty: the account's limit only.
	MaxPrice string
	// Endpoint replaces the regional SNS endpoint: a VPC endpoint, or a fake
	// in tests. https, or plain http for a loopback host only.
	Endpoint string
	// Timeout bounds one send when the caller's context allows longer; 0:
	// DefaultSNSTimeout.
	Timeout time.Duration
	// Log receives a debug line per message sent, number masked; nil: none.
	Log *slog.Logger
}

// DefaultSNSTimeout is the ceiling of one send when SNSConfig.Timeout is 0.
const DefaultSNSTimeout = 10 * time.Second

// SNS sends messages with Amazon SNS's Publish action (PhoneNumber) through
// the AWS SDK for Go v2. It is safe for concurrent use.
type SNS struct {
	cfg     SNSConfig
	client  *sns.Client
	timeout time.Duration
	log     *slog.Logger
}

var _ Sender = (*SNS)(nil)

var (
	awsRegion   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	accessKeyID = regexp.MustCompile(`^(AKIA|ASIA)[A-Z0-9]{12,124}$`)
	maxPrice    = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{1,5})?$`)
)

// NewSNS checks cfg and returns a sender. Every problem is reported; no secret
// is repeated.
func NewSNS(cfg SNSConfig) (*SNS, error) {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf("sns: "+format, args...)) }
	if !awsRegion.MatchString(cfg.Region) {
		bad("region: must be an AWS region such as eu-west-1, got %q", cfg.Region)
	}
	static := cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" || cfg.SessionToken != ""
	if static {
		if !accessKeyID.MatchString(cfg.AccessKeyID) {
			bad("access_key_id: must be an AWS access key id (AKIA… or ASIA…) when a secret access key or session token is set")
		}
		if len(cfg.SecretAccessKey) < 16 {
			bad("secret_access_key: is required with access_key_id")
		}
	}
	switch cfg.SMSType {
	case "":
		cfg.SMSType = "Transactional"
	case "Transactional", "Promotional":
	default:
		bad("sms_type: must be Transactional or Promotional, got %q", cfg.SMSType)
	}
	if cfg.SenderID != "" && (!alphaSenderID.MatchString(cfg.SenderID) || !hasLetter.MatchString(cfg.SenderID)) {
		bad("sender_id: must be 1 to 11 letters and digits with at least one letter, got %q", cfg.SenderID)
	}
	if cfg.OriginationNumber != "" && !phone.IsE164(cfg.OriginationNumber) {
		bad("origination_number: must be an E.164 number such as +15551234567, got %q", cfg.OriginationNumber)
	}
	if cfg.MaxPrice != "" && !maxPrice.MatchString(cfg.MaxPrice) {
		bad("max_price: must be an amount in USD such as 0.50, got %q", cfg.MaxPrice)
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		switch {
		case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
			bad("endpoint: must be an absolute URL without credentials, query or fragment")
		case u.Scheme != "https" && (u.Scheme != "http" || !isLoopback(u.Hostname())):
			bad("endpoint: must be https (plain http only for a loopback host: requests carry signed credentials)")
		}
	}
	s := &SNS{cfg: cfg, timeout: cfg.Timeout, log: cfg.Log}
	if s.timeout == 0 {
		s.timeout = DefaultSNSTimeout
	}
	if s.timeout < 0 {
		bad("timeout: must be positive, got %v", cfg.Timeout)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	opts := []func(*config.LoadOptions) error{
		config.WithRegion(cfg.Region),
		// Publish is not idempotent: a retry after a timeout or a 5xx could text
		// the user twice. The caller (the router) owns the failure policy.
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if static {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	// Loading reads the environment and the shared files only; credentials
	// from the network (roles) are fetched on the first send.
	awsCfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("sns: load the AWS configuration: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	awsCfg.HTTPClient = &http.Client{Transport: tr}
	s.client = sns.NewFromConfig(awsCfg, func(o *sns.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s, nil
}

// Send publishes one SMS. Errors wrap ErrRejected when SNS refused the message
// or the number (InvalidParameter, InvalidParameterValue: the sender settings
// are checked beforehand, so these name the number or the text), ErrUnavailable
// otherwise (credentials, throttling, SNS itself, the network, the deadline).
// They never carry the number, the text or a secret.
func (s *SNS) Send(ctx context.Context, m Message) (Receipt, error) {
	if !phone.IsE164(m.To) {
		return Receipt{}, ErrInvalidNumber
	}
	if m.Body == "" || utf8.RuneCountInString(m.Body) > maxBody {
		return Receipt{}, fmt.Errorf("%w: the body must have 1 to %d characters", ErrRejected, maxBody)
	}
	if err := ctx.Err(); err != nil {
		return Receipt{}, fmt.Errorf("sns: %w: %w", ErrUnavailable, err)
	}
	attrs := map[string]snstypes.MessageAttributeValue{
		"AWS.SNS.SMS.SMSType": stringAttr(s.cfg.SMSType),
	}
	senderID, origination := s.cfg.SenderID, s.cfg.OriginationNumber
	switch {
	case m.From == "":
	case phone.IsE164(m.From):
		senderID, origination = "", m.From
	case alphaSenderID.MatchString(m.From) && hasLetter.MatchString(m.From):
		senderID, origination = m.From, ""
	default:
		return Receipt{}, fmt.Errorf("sns: %w: the message's sender %q is not an E.164 number or an alphanumeric sender ID (check the route's sender setting)", ErrUnavailable, m.From)
	}
	if senderID != "" {
		attrs["AWS.SNS.SMS.SenderID"] = stringAttr(senderID)
	}
	if origination != "" {
		attrs["AWS.MM.SMS.OriginationNumber"] = stringAttr(origination)
	}
	if s.cfg.MaxPrice != "" {
		attrs["AWS.SNS.SMS.MaxPrice"] = snstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(s.cfg.MaxPrice)}
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.client.Publish(ctx, &sns.PublishInput{
		PhoneNumber:       aws.String(m.To),
		Message:           aws.String(m.Body),
		MessageAttributes: attrs,
	})
	if err != nil {
		return Receipt{}, snsError(ctx, err)
	}
	if out.MessageId == nil || *out.MessageId == "" {
		return Receipt{}, fmt.Errorf("sns: %w: the answer carries no message id", ErrUnavailable)
	}
	s.log.Debug("sms sent", "provider", "sns", "to", phone.Mask(m.To), "id", *out.MessageId)
	return Receipt{ID: *out.MessageId}, nil
}

func stringAttr(v string) snstypes.MessageAttributeValue {
	return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// SNSError is an error answer from SNS.
type SNSError struct {
	Code   string // SNS's error code: InvalidParameter, Throttled, AuthorizationError, …
	Status int    // HTTP status; 0 when unknown
	// SNS's own message is not kept: it quotes the number.
	permanent bool
}

func (e *SNSError) Error() string {
	kind := "unavailable"
	if e.permanent {
		kind = "rejected the message"
	}
	return fmt.Sprintf("sns: %s: %s (HTTP %d)", kind, e.Code, e.Status)
}

func (e *SNSError) Unwrap() error {
	if e.permanent {
		return ErrRejected
	}
	return ErrUnavailable
}

// snsPermanent are the codes about the message or its recipient.
var snsPermanent = map[string]bool{
	"InvalidParameter":      true,
	"InvalidParameterValue": true,
	"ParameterValueInvalid": true,
}

func snsError(ctx context.Context, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		e := &SNSError{Code: api.ErrorCode(), permanent: snsPermanent[api.ErrorCode()]}
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) {
			e.Status = re.HTTPStatusCode()
		}
		if !plainCode.MatchString(e.Code) {
			e.Code = "unknown"
		}
		return e
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("sns: %w: %w (the message may have been accepted)", ErrUnavailable, cerr)
	}
	// Network errors: the SDK's text names the operation and the endpoint,
	// never the form.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("sns: %w: %v", ErrUnavailable, uerr.Err)
	}
	return fmt.Errorf("sns: %w: %v", ErrUnavailable, err)
}
