// Implemented by the store work; placeholder so the support library has a source file.
