package kvapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/keyvault"
	"github.com/keyhaven/keyhaven/storage"
)

// attributes is a bundle's attributes: integers (Unix seconds), plus what the vault's settings derive.
type attributes struct {
	Enabled         bool   `json:"enabled"`
	NBF             *int64 `json:"nbf,omitempty"`
	Exp             *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created"`
	Updated         int64  `json:"updated"`
	RecoverableDays int    `json:"recoverableDays"`
	RecoveryLevel   string `json:"recoveryLevel"`
}

// recoveryLevel derives from the vault's settings (soft delete is always on in keyhaven).
func (c *call) recovery() (int, string) {
	days := c.vault.SoftDeleteRetentionInDays
	level := "Recoverable"
	if days < 90 {
		level = "CustomizedRecoverable"
	}
	if c.vault.EnablePurgeProtection == nil || !*c.vault.EnablePurgeProtection {
		level += "+Purgeable"
	}
	return days, level
}

func (c *call) attrs(a keyvault.Attributes) attributes {
	days, level := c.recovery()
	return attributes{Enabled: a.Enabled, NBF: a.NBF, Exp: a.Exp, Created: a.Created, Updated: a.Updated, RecoverableDays: days, RecoveryLevel: level}
}

func (c *call) secretID(name, version string) string {
	id := "https://" + c.host + "/secrets/" + name
	if version != "" {
		id += "/" + version
	}
	return id
}

// bundle is a SecretBundle; withValue false leaves the value out (update, list, delete).
func (c *call) bundle(v keyvault.Version, withValue bool) map[string]any {
	b := map[string]any{"id": c.secretID(v.Name, v.Version), "attributes": c.attrs(v.Attributes)}
	if withValue {
		b["value"] = v.Value
	}
	if v.ContentType != "" {
		b["contentType"] = v.ContentType
	}
	if len(v.Tags) > 0 {
		b["tags"] = v.Tags
	}
	return b
}

// item is a SecretItem: no value; the id has no version for the latest listing.
func (c *call) item(v keyvault.Version, withVersion bool) map[string]any {
	b := c.bundle(v, false)
	if !withVersion {
		b["id"] = c.secretID(v.Name, "")
	}
	return b
}

func (c *call) deletedFields(b map[string]any, d keyvault.Deleted) map[string]any {
	b["recoveryId"] = "https://" + c.host + "/deletedsecrets/" + d.Name
	b["deletedDate"] = d.DeletedDate
	b["scheduledPurgeDate"] = d.ScheduledPurgeDate
	return b
}

func notFound(name, version string) *httpx.Error {
	n := name
	if version != "" {
		n += "/" + version
	}
	return httpx.E(codeSecretNF, "A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", n)
}

func deletedConflict(name string) *httpx.Error {
	return httpx.E(codeConflict, "Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", name).WithInner("ObjectIsDeletedButRecoverable")
}

// setBody is a PUT /secrets/{name} body.
type setBody struct {
	Value       *string           `json:"value"`
	ContentType *string           `json:"contentType"`
	Tags        map[string]string `json:"tags"`
	Attributes  *struct {
		Enabled *bool  `json:"enabled"`
		NBF     *int64 `json:"nbf"`
		Exp     *int64 `json:"exp"`
	} `json:"attributes"`
}

func checkMeta(contentType *string, tags map[string]string) error {
	if contentType != nil && utf8.RuneCountInString(*contentType) > keyvault.MaxContentTypeChars {
		return httpx.E(codeBadParameter, "The content type is longer than %d characters.", keyvault.MaxContentTypeChars)
	}
	if len(tags) > keyvault.MaxTags {
		return httpx.E(codeBadParameter, "Too many tags: at most %d are allowed.", keyvault.MaxTags)
	}
	for k, v := range tags {
		if len(k) > 512 || len(v) > 256 {
			return httpx.E(codeBadParameter, "Tag names must be at most 512 characters and tag values at most 256.")
		}
	}
	return nil
}

func (a *API) setSecret(c *call) error {
	var in setBody
	if err := httpx.DecodeJSON(c.r, 256<<10, &in); err != nil {
		return kvDecodeErr(err)
	}
	if in.Value == nil {
		return httpx.E(codeBadParameter, "Property 'value' is required.")
	}
	if len(*in.Value) > keyvault.MaxValueBytes {
		return httpx.E(codeBadParameter, "The secret value is larger than 25 KB (%d bytes).", len(*in.Value))
	}
	if err := checkMeta(in.ContentType, in.Tags); err != nil {
		return err
	}
	si := keyvault.SetInput{Value: *in.Value, Tags: in.Tags}
	if in.ContentType != nil {
		si.ContentType = *in.ContentType
	}
	if in.Attributes != nil {
		si.Enabled, si.NBF, si.Exp = in.Attributes.Enabled, in.Attributes.NBF, in.Attributes.Exp
	}
	v, err := a.cfg.Secrets.Set(c.r.Context(), c.vault.Name, c.name, si)
	if errors.Is(err, keyvault.ErrDeleted) {
		return deletedConflict(c.name)
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(c.w, http.StatusOK, c.bundle(v, true))
	return nil
}

func (a *API) getSecret(c *call) error {
	v, err := a.cfg.Secrets.Get(c.r.Context(), c.vault.Name, c.name, c.ver)
	if errors.Is(err, keyvault.ErrNotFound) {
		return notFound(c.name, c.ver)
	}
	if err != nil {
		return err
	}
	if !v.Attributes.Enabled {
		return httpx.E(codeForbidden, "Operation get is not allowed on a disabled secret.").WithInner("SecretDisabled")
	}
	httpx.WriteJSON(c.w, http.StatusOK, c.bundle(v, true))
	return nil
}

func (a *API) updateSecret(c *call) error {
	var raw map[string]any
	var in setBody
	if err := httpx.DecodeJSON(c.r, 64<<10, &raw); err != nil {
		return kvDecodeErr(err)
	}
	if err := remarshal(raw, &in); err != nil {
		return httpx.E(codeBadParameter, "The request body has a property of the wrong type.")
	}
	if err := checkMeta(in.ContentType, in.Tags); err != nil {
		return err
	}
	u := keyvault.UpdateInput{ContentType: in.ContentType}
	if _, ok := raw["tags"]; ok {
		u.Tags, u.TagsSet = in.Tags, true
	}
	if in.Attributes != nil {
		u.Enabled = in.Attributes.Enabled
		attrs, _ := raw["attributes"].(map[string]any)
		if _, ok := attrs["nbf"]; ok {
			u.NBF, u.NBFSet = in.Attributes.NBF, true
		}
		if _, ok := attrs["exp"]; ok {
			u.Exp, u.ExpSet = in.Attributes.Exp, true
		}
	}
	v, err := a.cfg.Secrets.Update(c.r.Context(), c.vault.Name, c.name, c.ver, u)
	if errors.Is(err, keyvault.ErrNotFound) {
		return notFound(c.name, c.ver)
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(c.w, http.StatusOK, c.bundle(v, false))
	return nil
}

func (a *API) deleteSecret(c *call) error {
	d, v, err := a.cfg.Secrets.Delete(c.r.Context(), c.vault.Name, c.name, c.vault.SoftDeleteRetentionInDays)
	if errors.Is(err, keyvault.ErrNotFound) {
		return notFound(c.name, "")
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(c.w, http.StatusOK, c.deletedFields(c.bundle(v, false), d))
	return nil
}

// page reads maxresults (1-25, default 25) and the $skiptoken.
func (c *call) page() (int, string, error) {
	q := c.r.URL.Query()
	max := 25
	if s := q.Get("maxresults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 25 {
			return 0, "", httpx.E(codeBadParameter, "Invalid maxresults '%s': it must be between 1 and 25.", s)
		}
		max = n
	}
	return max, q.Get("$skiptoken"), nil
}

// nextLink is the absolute URL of the next page on the same origin, with the api-version.
func (c *call) nextLink(next string, max int) any {
	if next == "" {
		return nil
	}
	q := url.Values{}
	q.Set("api-version", c.r.URL.Query().Get("api-version"))
	q.Set("$skiptoken", next)
	q.Set("maxresults", strconv.Itoa(max))
	return "https://" + c.host + c.r.URL.Path + "?" + q.Encode()
}

func pageErr(err error) error {
	if errors.Is(err, storage.ErrInvalid) {
		return httpx.E(codeBadParameter, "The $skiptoken is not valid.").WithCause(err)
	}
	return err
}

func (a *API) listSecrets(c *call) error {
	max, tok, err := c.page()
	if err != nil {
		return err
	}
	p, err := a.cfg.Secrets.List(c.r.Context(), c.vault.Name, max, tok)
	if err != nil {
		return pageErr(err)
	}
	items := []map[string]any{}
	for _, v := range p.Items {
		items = append(items, c.item(v, false))
	}
	httpx.WriteJSON(c.w, http.StatusOK, map[string]any{"value": items, "nextLink": c.nextLink(p.Next, max)})
	return nil
}

func (a *API) listVersions(c *call) error {
	max, tok, err := c.page()
	if err != nil {
		return err
	}
	p, err := a.cfg.Secrets.Versions(c.r.Context(), c.vault.Name, c.name, max, tok)
	if errors.Is(err, keyvault.ErrNotFound) {
		return notFound(c.name, "")
	}
	if err != nil {
		return pageErr(err)
	}
	items := []map[string]any{}
	for _, v := range p.Items {
		items = append(items, c.item(v, true))
	}
	httpx.WriteJSON(c.w, http.StatusOK, map[string]any{"value": items, "nextLink": c.nextLink(p.Next, max)})
	return nil
}

func (a *API) listDeleted(c *call) error {
	max, tok, err := c.page()
	if err != nil {
		return err
	}
	p, err := a.cfg.Secrets.ListDeleted(c.r.Context(), c.vault.Name, max, tok)
	if err != nil {
		return pageErr(err)
	}
	items := []map[string]any{}
	for _, d := range p.Items {
		v, err := a.cfg.Secrets.DeletedVersion(c.r.Context(), c.vault.Name, d)
		if err != nil {
			return err
		}
		items = append(items, c.deletedFields(c.item(v, false), d))
	}
	httpx.WriteJSON(c.w, http.StatusOK, map[string]any{"value": items, "nextLink": c.nextLink(p.Next, max)})
	return nil
}

func (a *API) getDeleted(c *call) error {
	d, v, err := a.cfg.Secrets.GetDeleted(c.r.Context(), c.vault.Name, c.name)
	if errors.Is(err, keyvault.ErrNotFound) {
		return httpx.E(codeSecretNF, "Deleted Secret not found: %s", c.name)
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(c.w, http.StatusOK, c.deletedFields(c.bundle(v, false), d))
	return nil
}

func (a *API) recoverSecret(c *call) error {
	v, err := a.cfg.Secrets.Recover(c.r.Context(), c.vault.Name, c.name)
	if errors.Is(err, keyvault.ErrNotFound) {
		return httpx.E(codeSecretNF, "Deleted Secret not found: %s", c.name)
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(c.w, http.StatusOK, c.bundle(v, false))
	return nil
}

func (a *API) purgeSecret(c *call) error {
	if c.vault.EnablePurgeProtection != nil && *c.vault.EnablePurgeProtection {
		return httpx.E(codeForbidden, "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.").WithInner("PurgeProtectionEnabled")
	}
	err := a.cfg.Secrets.Purge(c.r.Context(), c.vault.Name, c.name)
	if errors.Is(err, keyvault.ErrNotFound) {
		return httpx.E(codeSecretNF, "Deleted Secret not found: %s", c.name)
	}
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) backupSecret(c *call) error {
	sub := subscriptionOf(c.vault.ResourceID)
	blob, err := a.cfg.Secrets.Backup(c.r.Context(), a.cfg.Sealer, sub, c.vault.Name, c.name)
	if errors.Is(err, keyvault.ErrNotFound) {
		return notFound(c.name, "")
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(c.w, http.StatusOK, map[string]any{"value": base64.RawURLEncoding.EncodeToString(blob)})
	return nil
}

func (a *API) restoreSecret(c *call) error {
	var in struct {
		Value string `json:"value"`
	}
	if err := httpx.DecodeJSON(c.r, 8<<20, &in); err != nil {
		return kvDecodeErr(err)
	}
	blob, err := decodeB64(in.Value)
	if err != nil || in.Value == "" {
		return httpx.E(codeBadParameter, "Property 'value' must be the base64url backup blob.")
	}
	v, err := a.cfg.Secrets.Restore(c.r.Context(), a.cfg.Sealer, subscriptionOf(c.vault.ResourceID), c.vault.Name, blob)
	switch {
	case errors.Is(err, keyvault.ErrInvalidBackup), errors.Is(err, keyvault.ErrWrongSubscription):
		return httpx.E(codeBadParameter, "Backup blob contains invalid or corrupt version, or was made in a vault of another subscription.").WithCause(err)
	case errors.Is(err, keyvault.ErrExists):
		return httpx.E(codeConflict, "Secret already exists: restore it into a vault without a secret of that name.")
	case errors.Is(err, keyvault.ErrDeleted):
		return deletedConflict(v.Name)
	case err != nil:
		return err
	}
	c.name = v.Name
	httpx.WriteJSON(c.w, http.StatusOK, c.bundle(v, false))
	return nil
}

func decodeB64(s string) ([]byte, error) {
	for _, e := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := e.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func subscriptionOf(resourceID string) string {
	parts := strings.Split(strings.Trim(resourceID, "/"), "/")
	if len(parts) >= 2 {
		return strings.ToLower(parts[1])
	}
	return ""
}

// kvDecodeErr shows body errors as Key Vault's BadParameter.
func kvDecodeErr(err error) error {
	var e *httpx.Error
	if errors.As(err, &e) {
		return httpx.E(codeBadParameter, "%s", e.Message)
	}
	return err
}
