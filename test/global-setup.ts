// Starts what the integration tests share (filled in as the local stack grows).
export default async function setup(): Promise<void> {}
