/**
 * Where the app keeps its notes: in memory, or in MySQL at an address from its config, which in a pod
 * is 127.0.0.1:3306 (the mysql-broker ambassador finds the real database).
 */

import { readFileSync } from 'node:fs';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import type { LegacyConfig } from './config.js';

export interface Note {
  id: number;
  body: string;
  created_at: string;
}

export interface Storage {
  readonly kind: 'memory' | 'mysql';
  add(body: string): Promise<Note>;
  list(): Promise<Note[]>;
  count(): Promise<number>;
  close(): Promise<void>;
}

export class MemoryStorage implements Storage {
  readonly kind = 'memory';
  readonly #notes: Note[] = [];

  async add(body: string): Promise<Note> {
    const note = { id: this.#notes.length + 1, body, created_at: new Date().toISOString() };
    this.#notes.push(note);
    return note;
  }

  async list(): Promise<Note[]> {
    return [...this.#notes];
  }

  async count(): Promise<number> {
    return this.#notes.length;
  }

  async close(): Promise<void> {}
}

export class MysqlStorage implements Storage {
  readonly kind = 'mysql';
  readonly #pool: Pool;
  #ready: Promise<void> | undefined;

  constructor(private readonly config: LegacyConfig) {
    const password = config.mysqlPasswordFile
      ? readFileSync(config.mysqlPasswordFile, 'utf8').trim()
      : undefined;
    this.#pool = mysql.createPool({
      host: config.mysqlHost,
      port: config.mysqlPort,
      user: config.mysqlUser,
      ...(password === undefined ? {} : { password }),
      connectionLimit: 4,
      connectTimeout: 3000,
    });
  }

  /** Creates the schema on first use, and again after a failure, so a late database is picked up. */
  #schema(): Promise<void> {
    this.#ready ??= (async () => {
      const db = this.config.mysqlDatabase;
      await this.#pool.query(`CREATE DATABASE IF NOT EXISTS \`${db}\``);
      await this.#pool.query(
        `CREATE TABLE IF NOT EXISTS \`${db}\`.notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL, created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))`,
      );
    })().catch((err) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async add(body: string): Promise<Note> {
    await this.#schema();
    const db = this.config.mysqlDatabase;
    const [result] = await this.#pool.query(`INSERT INTO \`${db}\`.notes (body) VALUES (?)`, [body]);
    const id = (result as { insertId: number }).insertId;
    const [rows] = await this.#pool.query<RowDataPacket[]>(
      `SELECT id, body, created_at FROM \`${db}\`.notes WHERE id = ?`,
      [id],
    );
    return toNote(rows[0] as RowDataPacket);
  }

  async list(): Promise<Note[]> {
    await this.#schema();
    const [rows] = await this.#pool.query<RowDataPacket[]>(
      `SELECT id, body, created_at FROM \`${this.config.mysqlDatabase}\`.notes ORDER BY id`,
    );
    return rows.map(toNote);
  }

  async count(): Promise<number> {
    await this.#schema();
    const [rows] = await this.#pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM \`${this.config.mysqlDatabase}\`.notes`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

function toNote(row: RowDataPacket): Note {
  return { id: Number(row.id), body: String(row.body), created_at: new Date(row.created_at).toISOString() };
}

export function openStorage(config: LegacyConfig): Storage {
  return config.storage === 'mysql' ? new MysqlStorage(config) : new MemoryStorage();
}

/** Whether two configs point at the same storage (a reload that changes it reconnects). */
export function sameStorage(a: LegacyConfig, b: LegacyConfig): boolean {
  const fields = [
    'storage',
    'mysqlHost',
    'mysqlPort',
    'mysqlUser',
    'mysqlPasswordFile',
    'mysqlDatabase',
  ] as const;
  return fields.every((field) => a[field] === b[field]);
}
