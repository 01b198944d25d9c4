// Styles are imported beside their components; Vite bundles them.
declare module '*.css';
