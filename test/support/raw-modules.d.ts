// Files imported as text (vite's `?raw`), as the fixture tests read them in Node and in Chromium.
declare module '*?raw' {
  const text: string;
  export default text;
}
