package commands

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/cli"
)

// Secret files as az reads and writes them on Linux, with Python's semantics: text files are opened in text
// mode with the locale's encoding (UTF-8) and universal newlines; base64 and hex files in binary mode. The
// errors are the Python exceptions' messages, which az prints.

// readSecretFile is the file half of process_secret_set_namespace: the secret value for the file's content in
// encoding. For the text encodings az reads the file as UTF-8 text whatever the encoding and stores that text,
// after checking that it encodes in the encoding (only ascii can fail); base64 stores base64.encodebytes of
// the bytes (76-character lines, each ending in a newline) and hex their lowercase hex digits.
func readSecretFile(path, encoding string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", pyOSError(err)
	}
	switch encoding {
	case "base64":
		return encodeBytes(data), nil
	case "hex":
		return hex.EncodeToString(data), nil
	}
	if !utf8.Valid(data) {
		return "", fmt.Errorf("Unable to decode file '%s' with '%s' encoding.", path, encoding)
	}
	content := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	if encoding == "ascii" {
		if err := asciiEncodeError(content); err != nil {
			// A UnicodeEncodeError in a validator is a usage error (parser.validation_error).
			return "", cli.ExitError{Code: 2, Err: err}
		}
	}
	return content, nil
}

// encodeBytes is Python's base64.encodebytes.
func encodeBytes(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc)
		b.WriteByte('\n')
	}
	return b.String()
}

// asciiEncodeError is the UnicodeEncodeError of s.encode('ascii'), which names the first run of characters
// outside ASCII by code point position.
func asciiEncodeError(s string) error {
	rs := []rune(s)
	for i, r := range rs {
		if r < 0x80 {
			continue
		}
		end := i + 1
		for end < len(rs) && rs[end] >= 0x80 {
			end++
		}
		if end == i+1 {
			return fmt.Errorf("'ascii' codec can't encode character '%s' in position %d: ordinal not in range(128)", pyCharEscape(r), i)
		}
		return fmt.Errorf("'ascii' codec can't encode characters in position %d-%d: ordinal not in range(128)", i, end-1)
	}
	return nil
}

// pyCharEscape is how UnicodeEncodeError shows a character: \xNN, \uNNNN or \UNNNNNNNN.
func pyCharEscape(r rune) string {
	switch {
	case r <= 0xFF:
		return fmt.Sprintf(`\x%02x`, r)
	case r <= 0xFFFF:
		return fmt.Sprintf(`\u%04x`, r)
	}
	return fmt.Sprintf(`\U%08x`, r)
}

// secretFileBytes is the content download_secret writes for a value in encoding: the text encodings go
// through open(path, 'w'), which writes UTF-8 whatever the encoding; base64 and hex are decoded to bytes.
func secretFileBytes(value, encoding string) ([]byte, error) {
	switch encoding {
	case "utf-8", "utf-16le", "utf-16be", "ascii":
		return []byte(value), nil
	case "base64":
		return pyB64Decode(value)
	case "hex":
		return pyUnhexlify(value)
	}
	// An unknown file-encoding tag leaves download_secret's decoded unset.
	return nil, errors.New("cannot access local variable 'decoded' where it is not associated with a value")
}

// writeSecretFile writes the downloaded content, as open(path, 'w'|'wb') creates a file.
func writeSecretFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o666); err != nil {
		return pyOSError(err)
	}
	return nil
}

var errNonASCII = errors.New("string argument should contain only ASCII characters")

// pyB64Decode is Python's base64.b64decode(s) (binascii.a2b_base64 without strict mode): characters outside
// the alphabet are skipped, a complete pad sequence ends the input, and a short final quad is an error.
func pyB64Decode(s string) ([]byte, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var out []byte
	quad, pads := 0, 0
	var left byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return nil, errNonASCII
		}
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return out, nil
				}
			}
			continue
		}
		v := strings.IndexByte(alphabet, c)
		if v < 0 {
			continue
		}
		ch := byte(v)
		pads = 0
		switch quad {
		case 0:
			quad, left = 1, ch
		case 1:
			out = append(out, left<<2|ch>>4)
			quad, left = 2, ch&0x0f
		case 2:
			out = append(out, left<<4|ch>>2)
			quad, left = 3, ch&0x03
		case 3:
			out = append(out, left<<6|ch)
			quad, left = 0, 0
		}
	}
	switch quad {
	case 0:
		return out, nil
	case 1:
		return nil, fmt.Errorf("Invalid base64-encoded string: number of data characters (%d) cannot be 1 more than a multiple of 4", len(out)/3*4+1)
	}
	return nil, errors.New("Incorrect padding")
}

// pyUnhexlify is Python's binascii.unhexlify(s).
func pyUnhexlify(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return nil, errNonASCII
		}
	}
	if len(s)%2 != 0 {
		return nil, errors.New("Odd-length string")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("Non-hexadecimal digit found")
	}
	return b, nil
}

// pyOSError shows a file error as Python's OSError: "[Errno 2] No such file or directory: 'path'".
func pyOSError(err error) error {
	var pe *fs.PathError
	var errno syscall.Errno
	if !errors.As(err, &pe) || !errors.As(pe.Err, &errno) {
		return err
	}
	msg := errno.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return fmt.Errorf("[Errno %d] %s: '%s'", int(errno), msg, pe.Path)
}

// expandUser is Python's os.path.expanduser, which az's file_type applies to file arguments.
func expandUser(path string) string {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, strings.TrimPrefix(path, "~"))
}
