import type { SafeStorage } from 'electron';
import type { SecretCipher } from '../core/settings/secret-store';
import { SlipwayError } from '../shared/errors';

const HINT =
  'Unlock or set up the system keychain (on Linux a Secret Service: gnome-keyring or KWallet), or give the token to the CLI with BALENA_TOKEN.';

/** Tokens encrypted with Electron's safeStorage (the OS keychain's key); refuses when the OS offers none. */
export function safeStorageCipher(
  safeStorage: Pick<
    SafeStorage,
    'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'
  >,
  platform: NodeJS.Platform = process.platform,
): SecretCipher {
  const ensureAvailable = () => {
    if (!safeStorage.isEncryptionAvailable()) {
      throw new SlipwayError(
        'E_TOKEN_STORE_UNAVAILABLE',
        'Cannot keep the token: the system offers no encryption (safeStorage)',
        { hint: HINT },
      );
    }
    // Linux without a keyring: Chromium "encrypts" with a password written in its source, which protects nothing.
    if (platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
      throw new SlipwayError(
        'E_TOKEN_STORE_UNAVAILABLE',
        'Cannot keep the token: no keyring was found, so safeStorage would use a fixed, public key (basic_text)',
        { hint: HINT },
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
