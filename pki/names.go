package pki

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxCommonNameLen is X.509's ub-common-name: the most characters a subject CN may hold.
const MaxCommonNameLen = 64

// maxDNSNameLen is the longest host name DNS can carry (RFC 1035, in text form).
const maxDNSNameLen = 253

// checkCommonName reports whether cn can be the subject CN of a certificate of the given
// kind ("root", "client").
func checkCommonName(kind, cn string) error {
	switch {
	case strings.TrimSpace(cn) == "":
		return fmt.Errorf("%w: the %s name is empty", ErrInvalidName, kind)
	case !utf8.ValidString(cn):
		return fmt.Errorf("%w: the %s name %q is not valid UTF-8", ErrInvalidName, kind, cn)
	case utf8.RuneCountInString(cn) > MaxCommonNameLen:
		return fmt.Errorf("%w: the %s name %q is %d characters long; a certificate's common name holds at most %d",
			ErrInvalidName, kind, cn, utf8.RuneCountInString(cn), MaxCommonNameLen)
	case strings.IndexFunc(cn, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: the %s name %q contains a control character", ErrInvalidName, kind, cn)
	case cn != strings.TrimSpace(cn):
		return fmt.Errorf("%w: the %s name %q starts or ends with a space", ErrInvalidName, kind, cn)
	}
	return nil
}

// clientSAN splits a client name into the subject alternative name it becomes: an email
// address (rfc822Name) when it holds '@', otherwise a dNSName. Either way it must be plain
// ASCII without spaces, because SANs are IA5 strings and clients match them literally.
func clientSAN(name string) (dnsName, email string, err error) {
	if err := checkCommonName("client", name); err != nil {
		return "", "", err
	}
	if local, domain, ok := strings.Cut(name, "@"); ok {
		if local == "" || strings.Trim(local, mailboxChars) != "" || checkHostName(domain) != nil {
			return "", "", fmt.Errorf("%w: the client name %q is not an email address like alice@example.com "+
				"(names with '@' go into the certificate as an email address)", ErrInvalidName, name)
		}
		return "", name, nil
	}
	if strings.Trim(name, userNameChars) != "" {
		return "", "", fmt.Errorf("%w: the client name %q may hold only letters, digits, '-', '.' and '_' "+
			"(or be an email address), because it also goes into the certificate's subject alternative name",
			ErrInvalidName, name)
	}
	return name, "", nil
}

const (
	alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	// userNameChars are the characters of a client name that is not an email address:
	// user and device names, which are freer than host names (underscores, leading digits).
	userNameChars = alnum + "-._"
	// mailboxChars are the unquoted characters of an email address's local part (RFC 5322 atext and '.').
	mailboxChars = alnum + "!#$%&'*+/=?^_`{|}~.-"
)

// checkHostName reports whether name is a host name a server certificate can carry as a
// dNSName: dot-separated labels of letters, digits and inner hyphens, optionally
// starting with a "*." wildcard label.
func checkHostName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %q is not a host name: %s", ErrInvalidName, name, why)
	}
	if name == "" {
		return bad("it is empty")
	}
	if len(name) > maxDNSNameLen {
		return bad(fmt.Sprintf("it is longer than %d characters", maxDNSNameLen))
	}
	for i, label := range strings.Split(name, ".") {
		switch {
		case label == "*" && i == 0 && name != "*":
			continue
		case label == "":
			return bad("it has an empty label (two dots, or a leading or trailing dot)")
		case len(label) > 63:
			return bad("a label is longer than 63 characters")
		case strings.Trim(label, alnum+"-") != "":
			return bad("use only letters, digits, '-' and '.'")
		case label[0] == '-' || label[len(label)-1] == '-':
			return bad("a label starts or ends with '-'")
		}
	}
	return nil
}
