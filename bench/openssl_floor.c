/*
 * payguard bench - the OpenSSL 3 floor of one plain-CGI webhook request.
 *
 *   openssl_floor [noconfig]
 *
 * Does only the cryptography a webhook request cannot skip, through the
 * EVP API that payguard uses: HMAC-SHA256 of a 1.5 KB body (the
 * signature) and AES-128-CBC of the same 1.5 KB (the Fernet seal of the
 * inbox record), then exits.  Its callgrind count, next to webhook.fcgi's,
 * shows how much of a CGI request is OpenSSL's own start-up (loading
 * libcrypto, the library context, the default provider and the method
 * stores of the first fetches) rather than payguard's work.  With
 * "noconfig", OPENSSL_INIT_NO_LOAD_CONFIG skips reading openssl.cnf.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

int
main(int argc, char **argv)
{
	unsigned char	 key[32] = { 1 }, iv[16] = { 2 }, body[1536];
	unsigned char	 out[sizeof(body) + 32], mac[32];
	size_t		 maclen = sizeof(mac);
	OSSL_PARAM	 p[2];
	EVP_MAC		*m = NULL;
	EVP_MAC_CTX	*mc = NULL;
	EVP_CIPHER	*ci = NULL;
	EVP_CIPHER_CTX	*cc = NULL;
	int		 n = 0, f = 0, rc = 1;

	memset(body, 'a', sizeof(body));
	if (argc > 1 && strcmp(argv[1], "noconfig") == 0)
		OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (mc = EVP_MAC_CTX_new(m)) == NULL ||
	    !EVP_MAC_init(mc, key, sizeof(key), p) ||
	    !EVP_MAC_update(mc, body, sizeof(body)) ||
	    !EVP_MAC_final(mc, mac, &maclen, sizeof(mac)))
		goto out;
	if ((ci = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL)) == NULL ||
	    (cc = EVP_CIPHER_CTX_new()) == NULL ||
	    !EVP_EncryptInit_ex2(cc, ci, key, iv, NULL) ||
	    !EVP_EncryptUpdate(cc, out, &n, body, (int)sizeof(body)) ||
	    !EVP_EncryptFinal_ex(cc, out + n, &f))
		goto out;
	rc = maclen == sizeof(mac) && n + f > 0 ? 0 : 1;
out:
	EVP_CIPHER_CTX_free(cc);
	EVP_CIPHER_free(ci);
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	return rc;
}
