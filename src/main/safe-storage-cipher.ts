import type { SafeStorage } from 'electron';
import type { SecretCipher } from '../core/settings/secret-store';
import { SlipwayError } from '../shared/errors';

/** Tokens encrypted with Electron's safeStorage (the OS keychain's key); refuses when the OS offers none. */
export function safeStorageCipher(
  safeStorage: Pick<SafeStorage, 'isEncryptionAvailable' | 'encryptString' | 'decryptString'>,
): SecretCipher {
  const ensureAvailable = () => {
    if (!safeStorage.isEncryptionAvailable()) {
      throw new SlipwayError(
        'E_TOKEN_STORE_UNAVAILABLE',
        'Cannot store the token: the system offers no encryption (safeStorage)',
        {
          hint: 'Unlock or set up the system keychain (on Linux: a Secret Service such as gnome-keyring or KWallet), or give the token to the CLI with BALENA_TOKEN.',
        },
      );
    }
  };
  return {
    extension: 'safe',
    encrypt(token) {
      ensureAvailable();
      return safeStorage.encryptString(token);
    },
    decrypt(bytes) {
      ensureAvailable();
      return safeStorage.decryptString(bytes);
    },
  };
}
