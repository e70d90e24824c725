// Placeholder so the module library builds before its first source lands.
